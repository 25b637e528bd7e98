# pitfall: conv-input-shape
# kind: error
# line: 4
# source: written for the test suite
# cause: a python list of layers built in a loop: the channel count is never carried to the next block
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
channels = 3
blocks = []
for depth in range(3):
    blocks += [nn.Conv2d(channels, 16 * 2 ** depth, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
encoder = nn.Sequential(*blocks)
print(encoder(torch.randn(2, 3, 32, 32)).shape)
