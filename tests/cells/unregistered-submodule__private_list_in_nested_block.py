# pitfall: unregistered-submodule
# kind: silent
# line: 1
# source: a residual tower whose branch block keeps its layers in a private list, written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)


class Branches(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self._branches = list(layers)

    def forward(self, x):
        return sum(b(x) for b in self._branches)


class Tower(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.stem = nn.Linear(4, width)
        self.mix = Branches([nn.Linear(width, width) for _ in range(3)])
        self.head = nn.Linear(width, 2)

    def forward(self, x):
        return self.head(F.relu(self.mix(F.relu(self.stem(x)))))


x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
# %% cell
tower = Tower()
opt = torch.optim.Adam(tower.parameters(), lr=1e-2)
for _ in range(3):
    loss = F.cross_entropy(tower(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
