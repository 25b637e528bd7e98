# pitfall: target-requires-grad
# kind: silent
# line: 2
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(21)
sentences = torch.randn(32, 24)
# %% cell
def distill_step(student, teacher, x, opt):
    soft_targets = teacher(x).softmax(dim=-1)
    loss = F.mse_loss(student(x).softmax(dim=-1), soft_targets)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()

teacher = nn.Sequential(nn.Linear(24, 64), nn.ReLU(), nn.Linear(64, 5))
student = nn.Linear(24, 5)
opt = torch.optim.SGD(student.parameters(), lr=0.1)
for i in range(0, 32, 8):
    print(distill_step(student, teacher, sentences[i:i + 8], opt))
