# pitfall: nondeterminism
# kind: silent
# line: 4
# source: a seeded experiment that turns on cuDNN autotuning, written for the test suite
# shape: top
# %% setup
import numpy as np
import torch
import torch.nn as nn
# %% cell
np.random.seed(7)
torch.manual_seed(7)
torch.backends.cudnn.deterministic = False
torch.backends.cudnn.benchmark = True
net = nn.Conv1d(2, 4, 3)
print(net(torch.randn(5, 2, 16)).sum().item())
