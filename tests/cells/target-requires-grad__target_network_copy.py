# pitfall: target-requires-grad
# kind: silent
# line: 4
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import copy
import torch
import torch.nn as nn
torch.manual_seed(20)

class DistillStep:
    def __init__(self, student):
        self.student = student
        self.ema = copy.deepcopy(student)
        self.opt = torch.optim.SGD(student.parameters(), lr=0.05)

    def __call__(self, x):
        target = self.ema(x + 0.05 * torch.randn_like(x))
        loss = (self.student(x) - target).pow(2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()
# %% cell
encoder = nn.Sequential(nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 8))
step = DistillStep(encoder)
for batch in torch.randn(5, 32, 16):
    step(batch)
