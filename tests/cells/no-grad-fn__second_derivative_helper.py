# pitfall: no-grad-fn
# kind: error
# line: 6
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)

def d_dx(y, x):
    return torch.autograd.grad(y.sum(), x)[0]
# %% cell
x = torch.linspace(0, 1, 20).unsqueeze(1).requires_grad_(True)
u_net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
opt = torch.optim.Adam(u_net.parameters(), lr=1e-2)
for step in range(3):
    u = u_net(x)
    du = d_dx(u, x)
    d2u = d_dx(du, x)
    loss = (d2u + u).pow(2).mean() + (u[0] - 1).pow(2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
print(loss.item())
