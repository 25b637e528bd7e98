# pitfall: loss-broadcast
# kind: silent
# line: 1, 2
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 1)
    def forward(self, x):
        return self.lin(x)
    def fit(self, x, y, steps=3):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.mse_loss(self(x), y).backward()
            opt.step()
# %% cell
x, y = torch.randn(20, 3), torch.randn(20)
Regressor().fit(x, y)
