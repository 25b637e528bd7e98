# pitfall: from-numpy-shares-memory
# kind: silent
# line: 1, 3
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
rng = np.random.default_rng(7)
stock_windows = rng.normal(loc=100.0, scale=5.0, size=(64, 30)).astype(np.float32)

class ReturnWindows(Dataset):
    def __init__(self, prices):
        self.prices = prices

    def __len__(self):
        return len(self.prices)

    def __getitem__(self, i):
        window = torch.from_numpy(self.prices[i])
        window /= window[0].clone()
        return window
# %% cell
loader = DataLoader(ReturnWindows(stock_windows), batch_size=16)
for epoch in range(2):
    for batch in loader:
        pass
print("first price of the first window:", stock_windows[0, 0])
