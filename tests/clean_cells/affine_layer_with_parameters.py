# pitfall: none
# kind: clean
# line: 0
# source: a learnable affine layer whose scale and shift are registered nn.Parameters
# %% setup
import torch
import torch.nn as nn
# %% cell
class Affine(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(n))
        self.shift = nn.Parameter(torch.zeros(n))
    def forward(self, x):
        return x * self.scale + self.shift

layer = Affine(8)
params = list(layer.parameters())
print(sum(p.numel() for p in params), "parameters")
opt = torch.optim.SGD(params, lr=0.1)
