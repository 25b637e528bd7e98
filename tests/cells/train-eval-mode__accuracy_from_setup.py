# pitfall: train-eval-mode
# kind: silent
# line: 7
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(25)
tab_x, tab_y = torch.randn(120, 9), torch.randint(0, 2, (120,))
holdout_x, holdout_y = torch.randn(40, 9), torch.randint(0, 2, (40,))

def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()
# %% cell
churn = nn.Sequential(nn.Linear(9, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 2))
opt = torch.optim.Adam(churn.parameters(), lr=1e-2)
for i in range(0, 120, 40):
    opt.zero_grad()
    F.cross_entropy(churn(tab_x[i:i + 40]), tab_y[i:i + 40]).backward()
    opt.step()
print("holdout accuracy", accuracy(churn, holdout_x, holdout_y))
