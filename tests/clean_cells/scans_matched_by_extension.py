# pitfall: none
# kind: clean
# line: 0
# source: a Dataset that lists its files case-insensitively and checks that it found some
# %% setup
import os
import tempfile
import torch
from torch.utils.data import Dataset, DataLoader
root = tempfile.mkdtemp()
for i in range(3):
    open(os.path.join(root, f"scan_{i}.NPY"), "wb").close()
# %% cell
class ScanDataset(Dataset):
    def __init__(self, folder):
        self.paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(".npy"))
        if not self.paths:
            raise FileNotFoundError(f"no scans in {folder!r}")
    def __len__(self):
        return len(self.paths)
    def __getitem__(self, i):
        return torch.zeros(1, 32, 32)

train_loader = DataLoader(ScanDataset(root), batch_size=2, shuffle=True)
print(len(train_loader))
