# pitfall: optimizer-device
# kind: silent
# line: 3
# source: the classifier head is replaced after the optimizer was built: it is never updated
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x, y = torch.randn(16, 8), torch.randint(0, 3, (16,))
# %% cell
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model[2] = nn.Linear(16, 3)
for step in range(3):
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
