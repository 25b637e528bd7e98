# pitfall: zero-dim-index
# kind: error
# line: 3
# source: iterating over the maximum of a score vector, a 0-d tensor
# %% setup
import torch
# %% cell
scores = torch.tensor([0.2, 0.9, 0.4])
best = scores.max()
for s in best:
    print(s)
