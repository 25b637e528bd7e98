# pitfall: feature-map-too-small
# kind: error
# line: 3
# source: six conv-pool stages on 28 x 28 digits
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
sizes = [(1, 8), (8, 16), (16, 32), (32, 32), (32, 32), (32, 32)]
net = nn.Sequential(*[nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)) for a, b in sizes])
digits = torch.randn(4, 1, 28, 28)
out = net(digits)
print(out.shape)
