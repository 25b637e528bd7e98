# pitfall: bn-batch-size-one
# kind: error
# line: 4, 5
# source: written for the test suite
# cause: a value made lines up: one photo taken out of the batch and unsqueezed, then fed to a model still in training mode
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.BatchNorm1d(4), nn.Linear(4, 2))
photos = torch.rand(8, 3, 16, 16)
net(photos).sum().backward()
# %% cell
query = photos[3]
query = query.unsqueeze(0)
flipped = torch.flip(query, dims=[3])
with torch.no_grad():
    a = net(query)
    b = net(flipped)
print((a - b).abs().max())
