# pitfall: bn-running-stats
# kind: silent
# line: 1
# source: linear probing with a training helper from an earlier cell, the BatchNorm of the backbone left in training mode
# shape: setup
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(8)
encoder = nn.Sequential(nn.Linear(10, 20, bias=False), nn.BatchNorm1d(20), nn.ReLU())
data, target = torch.randn(60, 10) * 2 + 3, torch.randint(0, 2, (60,))

def fit_epoch(net, optimizer, xs, ys):
    net.train()
    for i in range(0, len(xs), 20):
        optimizer.zero_grad()
        F.cross_entropy(net(xs[i:i + 20]), ys[i:i + 20]).backward()
        optimizer.step()
# %% cell
encoder.requires_grad_(False)
probe = nn.Linear(20, 2)
net = nn.Sequential(encoder, probe)
optimizer = torch.optim.Adam(probe.parameters(), lr=1e-2)
for epoch in range(2):
    fit_epoch(net, optimizer, data, target)
print(encoder[1].running_mean[:3])
