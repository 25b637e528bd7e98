# pitfall: none
# kind: clean
# line: 0
# requires: cuda
# source: CPU batches pinned by the DataLoader and moved to the GPU in the loop
# %% setup
import torch
from torch.utils.data import DataLoader, TensorDataset
# %% cell
data = TensorDataset(torch.randn(8, 3), torch.arange(8))
loader = DataLoader(data, batch_size=4, pin_memory=True)
for xb, yb in loader:
    xb, yb = xb.cuda(non_blocking=True), yb.cuda(non_blocking=True)
    print(xb.device)
