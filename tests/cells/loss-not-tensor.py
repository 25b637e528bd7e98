# pitfall: loss-not-tensor
# kind: error
# line: 5, 6
# source: a two-headed model whose losses are summed into a Python number with .item() before backward
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
model = nn.Linear(10, 3)
x, y_cls, y_reg = torch.randn(8, 10), torch.randint(0, 2, (8,)), torch.randn(8)
# %% cell
opt = torch.optim.SGD(model.parameters(), lr=0.1)
opt.zero_grad()
out = model(x)
total = 0.0
total += F.cross_entropy(out[:, :2], y_cls).item()
total += F.mse_loss(out[:, 2], y_reg).item()
total.backward()
opt.step()
