# pitfall: none
# kind: clean
# line: 0
# source: Monte Carlo dropout: predictions with dropout on, asked for explicitly with train()
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
x_new = torch.randn(5, 8)
# %% cell
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1))
model.train()
with torch.no_grad():
    samples = torch.stack([model(x_new) for _ in range(20)])
mean, std = samples.mean(0), samples.std(0)
print(mean.squeeze(1), std.squeeze(1))
