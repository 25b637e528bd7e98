# pitfall: loss-broadcast
# kind: silent
# line: 1, 3
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(15)
table = torch.randn(120, 8)

def regress(model, x, y, steps=5):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.l1_loss(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()
# %% cell
features, energy = table[:, :7], table[:, 7]
net = nn.Linear(7, 1)
print(regress(net, features, energy))
