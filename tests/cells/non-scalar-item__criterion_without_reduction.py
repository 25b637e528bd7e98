# pitfall: non-scalar-item
# kind: error
# line: 2
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
ratings = torch.randn(64, 8)
scores = torch.rand(64, 1) * 5
# %% cell
regressor = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
criterion = nn.SmoothL1Loss(reduction="none")
optimizer = torch.optim.Adam(regressor.parameters(), lr=1e-3)
history = []
for start in range(0, 64, 16):
    pred = regressor(ratings[start:start + 16])
    loss = criterion(pred, scores[start:start + 16]) * 0.5
    optimizer.zero_grad()
    loss.sum().backward()
    optimizer.step()
    history.append(loss.item())
