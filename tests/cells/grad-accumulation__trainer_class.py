# pitfall: grad-accumulation
# kind: silent
# line: 7
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
class Trainer:
    def __init__(self, model):
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def fit(self, xs, ys):
        for x, y in zip(xs, ys):
            nn.functional.mse_loss(self.model(x), y).backward()
            self.opt.step()

Trainer(nn.Linear(3, 1)).fit([torch.randn(4, 3)] * 3, [torch.randn(4, 1)] * 3)
