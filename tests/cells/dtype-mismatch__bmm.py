# pitfall: dtype-mismatch
# kind: error
# line: 1
# source: attention over fixed sentence embeddings that were precomputed with NumPy and cached as float64
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(2)
cached_keys = rng.normal(size=(8, 20, 16))     # np.load("keys.npy")
# %% cell
keys = torch.as_tensor(cached_keys)
query_proj = nn.Linear(16, 16)
queries = query_proj(torch.randn(8, 1, 16))
scores = torch.bmm(queries, keys.transpose(1, 2)) / 4.0
weights = scores.softmax(dim=-1)
print(weights.shape)
