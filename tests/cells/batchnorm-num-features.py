# pitfall: batchnorm-num-features
# kind: error
# line: 1
# source: BatchNorm2d with the channel count of another block
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU())
out = stem(torch.randn(2, 3, 16, 16))
print(out.shape)
