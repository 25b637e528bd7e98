# pitfall: loss-broadcast
# kind: silent
# line: 2
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(4)
rng = np.random.default_rng(4)
features = rng.normal(size=(256, 8)).astype("float32")
prices = (features @ rng.normal(size=8) + 3.0).astype("float32")

def fit(model, loader, epochs=3):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.L1Loss()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
    return loss.item()
# %% cell
inputs = torch.from_numpy(features)
targets = torch.tensor(prices)
loader = DataLoader(TensorDataset(inputs, targets), batch_size=32, shuffle=True)
regressor = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
print(fit(regressor, loader))
