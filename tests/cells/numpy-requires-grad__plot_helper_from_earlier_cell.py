# pitfall: numpy-requires-grad
# kind: error
# line: 2, 3
# source: written for the test suite
# shape: setup
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
readings = torch.randn(50, 6)


def summary(points):
    """Spread of a 2-D embedding, for a quick look."""
    arr = points.numpy()
    return float(np.std(arr[:, 0])), float(np.std(arr[:, 1]))
# %% cell
encoder.eval()
embedded = encoder(readings)
print("spread", summary(embedded))
