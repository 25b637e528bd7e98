# pitfall: none
# kind: clean
# line: 0
# source: NumPy data turned into tensors; the array is copied before it is changed
# %% setup
import numpy as np
import torch
rng = np.random.default_rng(0)
# %% cell
features = rng.standard_normal((20, 4)).astype(np.float32)
inputs = torch.from_numpy(features)
scaled = features.copy()
scaled -= scaled.mean(axis=0)
original = torch.tensor(features)
original += 1
print(inputs.mean().item(), scaled.mean(), features[0, 0], original[0, 0].item())
