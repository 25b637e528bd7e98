# pitfall: nondeterminism
# kind: silent
# line: 1
# seen: run
# source: written for the test suite
# shape: top
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
gen = np.random.default_rng(11)
wells = gen.normal(size=(80, 6)).astype(np.float32)
porosity = (wells @ gen.normal(size=(6, 1))).astype(np.float32)

def holdout_split(x, y, test_frac=0.25, random_state=None):
    order = np.random.RandomState(random_state).permutation(len(x))
    cut = int(len(x) * (1 - test_frac))
    return x[order[:cut]], x[order[cut:]], y[order[:cut]], y[order[cut:]]
# %% cell
train_x, test_x, train_y, test_y = holdout_split(wells, porosity, test_frac=0.25, random_state=0)
loader = DataLoader(TensorDataset(torch.from_numpy(train_x), torch.from_numpy(train_y)), batch_size=15, shuffle=True)
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(5):
    for xb, yb in loader:
        opt.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        opt.step()
with torch.no_grad():
    print(nn.functional.mse_loss(model(torch.from_numpy(test_x)), torch.from_numpy(test_y)).item())
