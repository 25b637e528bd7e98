# pitfall: none
# kind: clean
# line: 0
# source: a gated unit that calls super().__init__() before assigning its layers
# %% setup
import torch
import torch.nn as nn
# %% cell
class GatedUnit(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.gate = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
    def forward(self, x):
        return torch.sigmoid(self.gate(x)) * self.value(x)

unit = GatedUnit(16)
with torch.no_grad():
    print(unit(torch.randn(2, 16)).shape)
