# pitfall: conv-input-shape
# kind: error
# line: 1
# source: written for the test suite
# shape: setup
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
rng = np.random.default_rng(0)
# satellite tiles as a remote-sensing library hands them out: (N, H, W, bands)
tiles = rng.random((40, 16, 16, 3), dtype=np.float32)
land_use = rng.integers(0, 5, 40)
# %% cell
images = torch.from_numpy(tiles)
loader = DataLoader(TensorDataset(images, torch.from_numpy(land_use)), batch_size=8, shuffle=True)
net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
for xb, yb in loader:
    loss = nn.functional.cross_entropy(net(xb), yb)
