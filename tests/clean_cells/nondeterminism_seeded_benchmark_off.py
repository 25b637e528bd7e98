# pitfall: none
# kind: clean
# line: 0
# source: seeds every generator and keeps cuDNN deterministic
# %% setup
import random
import numpy as np
import torch
import torch.nn as nn
# %% cell
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
torch.backends.cudnn.benchmark = False
torch.backends.cudnn.deterministic = True
order = random.sample(range(10), 4)
net = nn.Linear(4, 2)
print(order, net(torch.from_numpy(np.random.rand(3, 4)).float()).shape)
