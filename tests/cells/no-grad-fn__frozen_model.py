# pitfall: no-grad-fn
# kind: error
# line: 2
# source: fine-tuning where requires_grad_(False) on the whole model also froze the new head
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(20, 32), nn.Tanh())
x, y = torch.randn(10, 20), torch.randn(10, 1)
# %% cell
regressor = nn.Sequential(encoder, nn.Linear(32, 1))
regressor.requires_grad_(False)
pred = regressor(x)
mse = ((pred - y) ** 2).mean()
mse.backward()
