# pitfall: nan-in-backward
# kind: error
# line: 6
# source: Poisson regression with a ReLU rate: log(0) masked with torch.where
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
torch.autograd.set_detect_anomaly(True)
features = torch.randn(200, 6)
counts = torch.poisson(torch.full((200, 1), 2.0))
# %% cell
rate_net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(rate_net.parameters(), lr=1e-2)
for step in range(3):
    rate = F.relu(rate_net(features))
    # rate can be exactly 0: skip those entries in the log-likelihood
    ll = torch.where(rate > 0, counts * torch.log(rate) - rate, torch.zeros_like(rate))
    loss = -ll.mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, loss.item())
