# pitfall: conv-bias-before-bn
# kind: silent
# line: 4
# source: a conv layer with its default bias feeding BatchNorm
# shape: function
# %% setup
import torch
import torch.nn as nn
# %% cell
class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        x = self.conv(x)
        x = self.bn(x)
        return torch.relu(x)

print(Stem()(torch.randn(2, 3, 8, 8)).shape)
