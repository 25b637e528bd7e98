# pitfall: nondeterminism
# kind: silent
# line: 1, 3
# source: torch is seeded for reproducibility, but the train/validation split uses NumPy's unseeded generator
# shape: top
# %% setup
import numpy as np
import torch
data = torch.randn(50, 4)
# %% cell
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
idx = np.random.permutation(len(data))
train, val = data[idx[:40]], data[idx[40:]]
print(model(val).mean().item())
