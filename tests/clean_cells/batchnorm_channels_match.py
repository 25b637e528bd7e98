# pitfall: none
# kind: clean
# line: 0
# source: BatchNorm2d with the channel count of the conv before it
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
out = stem(torch.randn(2, 3, 16, 16))
print(out.shape)
