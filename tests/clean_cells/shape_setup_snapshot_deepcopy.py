# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import copy
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(34)
x_fit, y_fit = torch.randn(16, 10), torch.randint(0, 2, (16,))
x_val, y_val = torch.randn(40, 10), torch.randint(0, 2, (40,))

def snapshot(model):
    return copy.deepcopy(model.state_dict())
# %% cell
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
opt = torch.optim.Adam(model.parameters(), lr=0.05)
best, best_state = float("inf"), None
for epoch in range(6):
    opt.zero_grad()
    F.cross_entropy(model(x_fit), y_fit).backward()
    opt.step()
    with torch.no_grad():
        val = F.cross_entropy(model(x_val), y_val).item()
    if val < best:
        best, best_state = val, snapshot(model)
model.load_state_dict(best_state)
print(round(best, 4))
