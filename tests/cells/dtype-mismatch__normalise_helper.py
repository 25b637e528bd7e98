# pitfall: dtype-mismatch
# kind: error
# line: 3
# source: written for the test suite
# cause: a preprocessing helper from a setup cell subtracts float64 numpy channel means
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
CHANNEL_MEAN = np.array([0.49, 0.48, 0.45])
CHANNEL_STD = np.array([0.25, 0.24, 0.26])
def normalise(images):
    mean = torch.from_numpy(CHANNEL_MEAN)[:, None, None]
    std = torch.from_numpy(CHANNEL_STD)[:, None, None]
    return (images - mean) / std
# %% cell
stem = nn.Conv2d(3, 8, kernel_size=3, padding=1)
photos = torch.rand(4, 3, 16, 16)
inputs = normalise(photos)
activations = torch.relu(stem(inputs))
print(activations.shape)
