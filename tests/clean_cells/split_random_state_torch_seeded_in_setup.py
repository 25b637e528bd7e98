# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
gen = np.random.default_rng(2)
orders = gen.normal(size=(60, 5)).astype(np.float32)
returned = (orders[:, 0] > 0).astype(np.int64)

def train_test_split(x, y, test_size=0.2, random_state=None):
    order = np.random.RandomState(random_state).permutation(len(x))
    cut = int(len(x) * (1 - test_size))
    return x[order[:cut]], x[order[cut:]], y[order[:cut]], y[order[cut:]]
# %% cell
x_tr, x_te, y_tr, y_te = train_test_split(orders, returned, test_size=0.2, random_state=0)
loader = DataLoader(TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)), batch_size=12, shuffle=True)
clf = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
for epoch in range(4):
    for xb, yb in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(clf(xb), yb).backward()
        opt.step()
with torch.no_grad():
    print((clf(torch.from_numpy(x_te)).argmax(1) == torch.from_numpy(y_te)).float().mean().item())
