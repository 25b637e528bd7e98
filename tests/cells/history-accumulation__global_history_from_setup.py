# pitfall: history-accumulation
# kind: silent
# line: 4
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
history = []
def step(model, opt, x, y):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    history.append(loss)
# %% cell
net = nn.Linear(4, 1)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for i in range(5):
    step(net, opt, torch.randn(8, 4), torch.randn(8, 1))
print(len(history))
