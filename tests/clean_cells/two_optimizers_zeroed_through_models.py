# pitfall: none
# kind: clean
# line: 0
# source: a generator and a discriminator, each zeroed through its module rather than its optimizer
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(10)
real = torch.randn(64, 3) + 1.0
# %% cell
gen = nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 3))
disc = nn.Sequential(nn.Linear(3, 12), nn.ReLU(), nn.Linear(12, 1))
g_opt = torch.optim.SGD(gen.parameters(), lr=0.01)
d_opt = torch.optim.SGD(disc.parameters(), lr=0.01)
for i in range(0, 64, 16):
    fake = gen(torch.randn(16, 5))
    disc.zero_grad()
    d_loss = F.softplus(-disc(real[i:i + 16])).mean() + F.softplus(disc(fake.detach())).mean()
    d_loss.backward()
    d_opt.step()
    gen.zero_grad()
    g_loss = F.softplus(-disc(fake)).mean()
    g_loss.backward()
    g_opt.step()
