# pitfall: optimizer-empty-params
# kind: error
# line: 2
# source: the parameter generator is read once to count the parameters, then given to the optimizer
# %% setup
import torch
import torch.nn as nn
# %% cell
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
params = model.parameters()
print(sum(p.numel() for p in params), "parameters")
optimizer = torch.optim.Adam(params, lr=1e-3)
