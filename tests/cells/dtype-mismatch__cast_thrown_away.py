# pitfall: dtype-mismatch
# kind: error
# line: 3
# source: written for the test suite
# %% setup
import numpy as np
import torch
import torch.nn as nn
spectra = np.random.default_rng(2).normal(size=(32, 64))
# %% cell
probe = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 1))
batch = torch.from_numpy(spectra)
batch.float()
energy = probe(batch)
