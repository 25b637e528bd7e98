# pitfall: none
# kind: clean
# line: 0
# source: a higher learning rate for a new head, the backbone's parameters in a separate group
# %% setup
import torch
import torch.nn as nn
# %% cell
backbone = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32))
head = nn.Linear(32, 3)
model = nn.Sequential(backbone, head)
head_ids = {id(p) for p in head.parameters()}
optimizer = torch.optim.AdamW([
    {"params": [p for p in model.parameters() if id(p) not in head_ids], "lr": 1e-4},
    {"params": head.parameters(), "lr": 1e-3},
])
print([len(g["params"]) for g in optimizer.param_groups])
