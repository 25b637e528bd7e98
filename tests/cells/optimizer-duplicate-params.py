# pitfall: optimizer-duplicate-params
# kind: error
# line: 5
# source: a higher learning rate for the new head, whose parameters are also in model.parameters()
# %% setup
import torch
import torch.nn as nn
# %% cell
backbone = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32))
head = nn.Linear(32, 3)
model = nn.Sequential(backbone, head)
optimizer = torch.optim.AdamW([
    {"params": model.parameters(), "lr": 1e-4},
    {"params": head.parameters(), "lr": 1e-3},
])
