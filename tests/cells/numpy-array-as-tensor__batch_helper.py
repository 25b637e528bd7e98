# pitfall: numpy-array-as-tensor
# kind: error
# line: 4
# source: written for the test suite
# cause: a helper from a setup cell hands out batches as numpy slices of the feature table
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
table = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
def batch_at(i, size=8):
    return table[i * size:(i + 1) * size]
# %% cell
scorer = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 1))
scores = []
for i in range(5):
    rows = batch_at(i)
    scores.append(scorer(rows))
print(torch.cat(scores).shape)
