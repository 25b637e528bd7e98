# pitfall: dtype-mismatch
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(0)
rng = np.random.default_rng(0)
sensor_x = rng.normal(size=(48, 5))
sensor_y = rng.normal(size=(48, 1))

class SensorRows(Dataset):
    def __init__(self, features, targets):
        self.features = features
        self.targets = targets

    def __len__(self):
        return len(self.features)

    def __getitem__(self, i):
        return self.features[i], self.targets[i]
# %% cell
rows = SensorRows(sensor_x, sensor_y)
loader = DataLoader(rows, batch_size=8, shuffle=True)
regressor = nn.Linear(5, 1)
opt = torch.optim.SGD(regressor.parameters(), lr=0.05)
for epoch in range(2):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(regressor(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
print(loss.item())
