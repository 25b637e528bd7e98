# pitfall: requires-grad-typo
# kind: silent
# line: 2
# source: requires_grad set on a module object (it has no such switch)
# shape: top
# %% setup
import torch
import torch.nn as nn
# %% cell
backbone = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
backbone.requires_grad = False
print(all(p.requires_grad for p in backbone.parameters()))
