# pitfall: empty-dataset
# kind: error
# line: 3
# source: scans saved as .npy while the Dataset lists only .png files
# %% setup
import os
import tempfile
import torch
from torch.utils.data import Dataset, DataLoader
root = tempfile.mkdtemp()
for i in range(3):
    open(os.path.join(root, f"scan_{i}.npy"), "wb").close()
# %% cell
class ScanDataset(Dataset):
    def __init__(self, folder):
        self.paths = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png")]
    def __len__(self):
        return len(self.paths)
    def __getitem__(self, i):
        return torch.zeros(1, 32, 32)

train_loader = DataLoader(ScanDataset(root), batch_size=2, shuffle=True)
