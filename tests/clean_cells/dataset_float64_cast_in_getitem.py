# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(0)
rng = np.random.default_rng(5)
meter_x = rng.normal(size=(40, 4))
meter_y = rng.normal(size=(40, 1))

class MeterReadings(Dataset):
    def __init__(self, features, targets):
        self.features = features
        self.targets = targets

    def __len__(self):
        return len(self.features)

    def __getitem__(self, i):
        return (torch.as_tensor(self.features[i], dtype=torch.float32),
                torch.as_tensor(self.targets[i], dtype=torch.float32))
# %% cell
loader = DataLoader(MeterReadings(meter_x, meter_y), batch_size=8, shuffle=True)
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for epoch in range(2):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
print(loss.item())
