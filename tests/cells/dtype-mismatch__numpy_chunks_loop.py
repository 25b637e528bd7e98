# pitfall: dtype-mismatch
# kind: error
# line: 1
# source: written for the test suite
# cause: a python list of batches built in a loop from float64 numpy chunks
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
readings = np.random.default_rng(5).normal(size=(64, 9))
# %% cell
batches = [torch.as_tensor(chunk) for chunk in np.array_split(readings, 4)]
autoencoder = nn.Sequential(nn.Linear(9, 3), nn.ReLU(), nn.Linear(3, 9))
opt = torch.optim.Adam(autoencoder.parameters())
for epoch in range(2):
    for batch in batches:
        loss = ((autoencoder(batch) - batch) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
