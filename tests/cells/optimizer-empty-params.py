# pitfall: optimizer-empty-params
# kind: error
# line: 4
# source: a learnable affine layer whose scale and shift are plain tensors, not nn.Parameter
# %% setup
import torch
import torch.nn as nn
# %% cell
class Affine(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.scale = torch.ones(n, requires_grad=True)
        self.shift = torch.zeros(n, requires_grad=True)
    def forward(self, x):
        return x * self.scale + self.shift

layer = Affine(8)
opt = torch.optim.SGD(layer.parameters(), lr=0.1)
