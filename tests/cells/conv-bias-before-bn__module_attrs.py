# pitfall: conv-bias-before-bn
# kind: silent
# line: 4
# source: a 1-D residual block for ECG signals
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
# %% cell
class ResBlock1d(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size=7, padding=3)
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x):
        return F.relu(x + self.bn(self.conv(x)))

block = ResBlock1d(12)
print(block(torch.randn(4, 12, 250)).shape)
