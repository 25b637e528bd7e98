# pitfall: pin-memory-cuda
# kind: error
# line: 4, 5
# requires: cuda
# source: a collate_fn that moves batches to the GPU, with pin_memory=True on the loader
# %% setup
import torch
from torch.utils.data import DataLoader, TensorDataset, default_collate
def to_gpu(batch):
    xs, ys = default_collate(batch)
    return xs.cuda(), ys.cuda()
# %% cell
data = TensorDataset(torch.randn(8, 3), torch.arange(8))
torch.manual_seed(0)
loader = DataLoader(data, batch_size=4, collate_fn=to_gpu,
                    pin_memory=True)
for xb, yb in loader:
    print(xb.device)
