# pitfall: cpu-oom
# kind: error
# line: 3, 4
# source: full-dataset MSE where (N, 1) predictions meet (N,) targets and broadcast to N x N
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
sensor_feats = torch.randn(10_000_000, 8)
energy_use = sensor_feats @ torch.randn(8) + 0.1 * torch.randn(10_000_000)
# %% cell
regressor = nn.Linear(8, 1)
with torch.no_grad():
    preds = regressor(sensor_feats)
    mse = ((preds - energy_use) ** 2).mean()
print(f"full-data MSE: {mse.item():.4f}")
