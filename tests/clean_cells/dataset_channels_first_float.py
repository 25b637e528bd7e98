# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a Dataset's __getitem__ in a setup cell moves HWC image channels first and scales to float32
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(0)
class Tiles(Dataset):
    def __init__(self, n):
        rng = np.random.default_rng(0)
        self.images = rng.integers(0, 255, size=(n, 20, 20, 3), dtype=np.uint8)
        self.labels = rng.integers(0, 4, size=n)
    def __len__(self):
        return len(self.images)
    def __getitem__(self, i):
        image = torch.from_numpy(self.images[i]).permute(2, 0, 1).float() / 255.0
        return image, int(self.labels[i])
# %% cell
cnn = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
opt = torch.optim.Adam(cnn.parameters(), lr=1e-3)
for image, label in DataLoader(Tiles(16), batch_size=4):
    opt.zero_grad()
    nn.functional.cross_entropy(cnn(image), label).backward()
    opt.step()
