# pitfall: cat-size-mismatch
# kind: error
# line: 4
# source: a skip connection around a stride-2 conv and an upsample, on frames of odd size
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
enc = nn.Conv2d(3, 8, 3, padding=1)
down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
up = nn.Upsample(scale_factor=2)
frames = torch.randn(2, 3, 37, 37)
skip = enc(frames)
merged = torch.cat([up(down(skip)), skip], dim=1)
print(merged.shape)
