# pitfall: dtype-mismatch
# kind: error
# line: 2
# source: house prices from a CSV: features standardised with NumPy (float64) go straight into nn.Linear
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(0)
table = rng.normal(size=(200, 8)) * [1, 10, 100, 1, 5, 50, 2, 3]   # as read by np.genfromtxt
prices = rng.normal(size=200)
# %% cell
features = (table - table.mean(axis=0)) / table.std(axis=0)
X = torch.from_numpy(features)
y = torch.from_numpy(prices).float().unsqueeze(1)
regressor = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = torch.optim.Adam(regressor.parameters(), lr=1e-2)
for epoch in range(3):
    loss = nn.functional.mse_loss(regressor(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(loss.item())
