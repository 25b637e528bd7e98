# pitfall: dtype-mismatch
# kind: error
# line: 1
# source: written for the test suite
# cause: a Dataset's __init__ in a setup cell keeps the float64 sensor table as a tensor
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(0)
class SensorWindows(Dataset):
    def __init__(self, table, window):
        self.values = torch.from_numpy(table)
        self.window = window
    def __len__(self):
        return len(self.values) - self.window
    def __getitem__(self, i):
        return self.values[i:i + self.window].flatten(), self.values[i + self.window, 0:1].float()
# %% cell
windows = SensorWindows(np.random.default_rng(1).normal(size=(60, 4)), window=5)
predictor = nn.Sequential(nn.Linear(20, 16), nn.Tanh(), nn.Linear(16, 1))
opt = torch.optim.SGD(predictor.parameters(), lr=0.01)
for past, nxt in DataLoader(windows, batch_size=8):
    loss = nn.functional.mse_loss(predictor(past), nxt)
    opt.zero_grad()
    loss.backward()
    opt.step()
