# pitfall: loss-target-shape
# kind: error
# line: 2
# source: features and label read from one table; slicing the label with -1: keeps a (N, 1) column
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
table = torch.cat([torch.randn(10, 4), torch.randint(0, 3, (10, 1)).float()], dim=1)
# %% cell
features = table[:, :-1]
labels = table[:, -1:].long()
clf = nn.Linear(4, 3)
loss = F.cross_entropy(clf(features), labels)
