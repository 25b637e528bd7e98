# pitfall: unregistered-submodule
# kind: silent
# line: 1
# source: a model class defined in an earlier cell keeps its blocks in a list comprehension
# shape: setup
# %% setup
import torch
import torch.nn as nn

class Tower(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.blocks = [nn.Linear(8, 8) for _ in range(depth)]
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        for b in self.blocks:
            x = torch.relu(b(x))
        return self.out(x)
# %% cell
tower = Tower(3)
opt = torch.optim.SGD(tower.parameters(), lr=0.1)
print(tower(torch.randn(2, 8)).shape)
