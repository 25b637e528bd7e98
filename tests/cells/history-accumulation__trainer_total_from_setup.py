# pitfall: history-accumulation
# kind: silent
# line: 3
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
class Trainer:
    def __init__(self, model):
        self.model, self.opt, self.total = model, torch.optim.SGD(model.parameters(), lr=0.1), 0.0
    def step(self, x, y):
        self.opt.zero_grad()
        loss = nn.functional.mse_loss(self.model(x), y)
        loss.backward()
        self.opt.step()
        self.total += loss
# %% cell
trainer = Trainer(nn.Linear(4, 1))
for i in range(5):
    trainer.step(torch.randn(8, 4), torch.randn(8, 1))
print(float(trainer.total))
