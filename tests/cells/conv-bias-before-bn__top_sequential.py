# pitfall: conv-bias-before-bn
# kind: silent
# line: 2
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
# %% cell
tile_encoder = nn.Sequential(
    nn.Conv2d(4, 24, kernel_size=5, stride=2, padding=2),
    nn.BatchNorm2d(24),
    nn.LeakyReLU(0.1),
    nn.AdaptiveMaxPool2d(1),
)
satellite_tiles = torch.randn(3, 4, 32, 32)
print(tile_encoder(satellite_tiles).flatten(1).shape)
