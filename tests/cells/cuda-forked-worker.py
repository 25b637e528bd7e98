# pitfall: cuda-forked-worker
# kind: error
# line: 1, 2
# requires: cuda
# source: a Dataset that creates its samples on the GPU, read by forked DataLoader workers
# %% setup
import torch
from torch.utils.data import Dataset, DataLoader
torch.zeros(1, device="cuda")          # the notebook already uses the GPU
class GpuDataset(Dataset):
    def __len__(self):
        return 4
    def __getitem__(self, i):
        return torch.full((2,), float(i), device="cuda")
# %% cell
loader = DataLoader(GpuDataset(), batch_size=2, num_workers=1, multiprocessing_context="fork")
for batch in loader:
    print(batch)
