# pitfall: from-numpy-shares-memory
# kind: silent
# line: 2, 3, 4
# source: written for the test suite
# shape: function
# seen: run
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(2)
eeg = rng.normal(loc=5.0, scale=2.0, size=(100, 16)).astype(np.float32)
seizure = rng.integers(0, 2, size=100)
# %% cell
def standardise(block):
    t = torch.from_numpy(block)
    t -= t.mean(dim=0)
    t /= t.std(dim=0) + 1e-6
    return t

detector = nn.Linear(16, 2)
opt = torch.optim.Adam(detector.parameters(), lr=1e-3)
for epoch in range(2):
    for i in range(0, 100, 25):
        xb = standardise(eeg[i:i + 25])
        loss = nn.functional.cross_entropy(detector(xb), torch.as_tensor(seizure[i:i + 25]))
        opt.zero_grad()
        loss.backward()
        opt.step()
print("raw recording mean now", float(eeg.mean()))
