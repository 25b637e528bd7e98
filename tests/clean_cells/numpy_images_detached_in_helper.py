# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a helper from a setup cell detaches a generator's output before turning it into numpy images
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
def to_images(batch):
    return ((batch.detach().squeeze(1).numpy() + 1) * 127.5).astype(np.uint8)
# %% cell
generator = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Unflatten(1, (1, 8, 8)))
generator.eval()
with torch.no_grad():
    samples = generator(torch.randn(4, 16))
grid = to_images(samples)
print(grid.shape, grid.dtype)
