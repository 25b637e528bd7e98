# pitfall: nondeterminism
# kind: silent
# line: 1
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import random
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

def set_seed(s):
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)
    torch.backends.cudnn.benchmark = True
# %% cell
set_seed(0)
leaves = torch.randn(16, 1, 12, 12)
disease = torch.randint(0, 2, (16,))
net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for i in range(0, 16, 4):
    opt.zero_grad()
    F.cross_entropy(net(leaves[i:i + 4]), disease[i:i + 4]).backward()
    opt.step()
print(net[-1].bias.data)
