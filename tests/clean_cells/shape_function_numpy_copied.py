# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: function
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(36)
accel = rng.normal(loc=1.0, scale=0.5, size=(80, 9)).astype(np.float32)
activity = rng.integers(0, 4, size=80)
# %% cell
def standardise(block):
    t = torch.from_numpy(block).clone()
    t -= t.mean(dim=0)
    t /= t.std(dim=0) + 1e-6
    return t

har = nn.Linear(9, 4)
opt = torch.optim.SGD(har.parameters(), lr=0.1)
for i in range(0, 80, 20):
    loss = nn.functional.cross_entropy(har(standardise(accel[i:i + 20])), torch.as_tensor(activity[i:i + 20]))
    opt.zero_grad()
    loss.backward()
    opt.step()
print(round(float(accel.mean()), 4))
