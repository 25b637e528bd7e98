# pitfall: grad-accumulation
# kind: silent
# line: 4
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
class Trainer:
    def __init__(self, model):
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def fit(self, xs, ys):
        for x, y in zip(xs, ys):
            nn.functional.mse_loss(self.model(x), y).backward()
            self.opt.step()
# %% cell
model = nn.Linear(3, 1)
trainer = Trainer(model)
xs, ys = [torch.randn(4, 3) for _ in range(3)], [torch.randn(4, 1) for _ in range(3)]
trainer.fit(xs, ys)
