# pitfall: dtype-mismatch
# kind: error
# line: 7
# source: a tabular Dataset whose __getitem__ turns float64 pandas/numpy rows into tensors
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
table = np.random.default_rng(3).random((80, 6))
prices = table.sum(axis=1, keepdims=True)
# %% cell
class Houses(Dataset):
    def __init__(self, features, targets):
        self.features, self.targets = features, targets
    def __len__(self):
        return len(self.features)
    def __getitem__(self, idx):
        row = torch.tensor(self.features[idx])
        return row, torch.tensor(self.targets[idx], dtype=torch.float32)

regressor = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 1))
optimizer = torch.optim.Adam(regressor.parameters(), lr=1e-3)
for batch_idx, (features, target) in enumerate(DataLoader(Houses(table, prices), batch_size=16)):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(regressor(features), target)
    loss.backward()
    optimizer.step()
