# pitfall: numpy-requires-grad
# kind: error
# line: 2, 3
# source: written for the test suite
# cause: a helper from a setup cell turns a generator's output into numpy images for display
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
def to_images(batch):
    """(N, 1, H, W) in [-1, 1] -> uint8 arrays for plotting."""
    return ((batch.squeeze(1).numpy() + 1) * 127.5).astype(np.uint8)
# %% cell
generator = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Unflatten(1, (1, 8, 8)))
samples = generator(torch.randn(4, 16))
grid = to_images(samples)
print(grid.shape, grid.dtype)
