# pitfall: module-init-not-called
# kind: error
# line: 3, 4
# source: a gated unit whose __init__ calls super().__init__() after assigning its first layer
# %% setup
import torch
import torch.nn as nn
# %% cell
class GatedUnit(nn.Module):
    def __init__(self, dim):
        self.dim = dim
        self.gate = nn.Linear(dim, dim)
        super().__init__()
        self.value = nn.Linear(dim, dim)
    def forward(self, x):
        return torch.sigmoid(self.gate(x)) * self.value(x)

unit = GatedUnit(16)
