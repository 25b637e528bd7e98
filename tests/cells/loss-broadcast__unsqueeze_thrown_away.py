# pitfall: loss-broadcast
# kind: silent
# line: 5
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(6)
readings, demand = torch.randn(96, 5), torch.randn(96)
# %% cell
forecaster = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))
opt = torch.optim.SGD(forecaster.parameters(), lr=0.05)

def step(x, y):
    y.unsqueeze(1)
    opt.zero_grad()
    loss = nn.functional.smooth_l1_loss(forecaster(x), y)
    loss.backward()
    opt.step()
    return loss.item()

for epoch in range(3):
    print(step(readings, demand))
