# pitfall: bn-running-stats
# kind: silent
# line: 3, 4
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
def freeze(module):
    for p in module.parameters():
        p.requires_grad = False
xs, ys = torch.randn(32, 6) * 3, torch.randint(0, 2, (32,))
# %% cell
backbone = nn.Sequential(nn.Linear(6, 12), nn.BatchNorm1d(12), nn.ReLU())
head = nn.Linear(12, 2)
freeze(backbone)
model = nn.Sequential(backbone, head).train()
opt = torch.optim.SGD(head.parameters(), lr=0.1)
for i in range(0, 32, 8):
    opt.zero_grad()
    F.cross_entropy(model(xs[i:i + 8]), ys[i:i + 8]).backward()
    opt.step()
