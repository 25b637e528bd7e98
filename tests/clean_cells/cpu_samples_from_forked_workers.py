# pitfall: none
# kind: clean
# line: 0
# requires: cuda
# source: forked DataLoader workers make CPU samples; the main process moves each batch to the GPU
# %% setup
import torch
from torch.utils.data import Dataset, DataLoader
torch.zeros(1, device="cuda")
class CpuDataset(Dataset):
    def __len__(self):
        return 4
    def __getitem__(self, i):
        return torch.full((2,), float(i))
# %% cell
loader = DataLoader(CpuDataset(), batch_size=2, num_workers=1, multiprocessing_context="fork")
for batch in loader:
    print(batch.cuda(non_blocking=True).sum().item())
