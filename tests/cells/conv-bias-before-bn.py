# pitfall: conv-bias-before-bn
# kind: silent
# line: 3
# source: a VGG-style block factory
# shape: function
# %% setup
import torch
import torch.nn as nn
# %% cell
def conv_block(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )

features = nn.Sequential(conv_block(3, 32), conv_block(32, 64), nn.MaxPool2d(2))
print(features(torch.randn(2, 3, 16, 16)).shape)
