# pitfall: none
# kind: clean
# line: 0
# source: the maximum of a score vector read with item()
# %% setup
import torch
# %% cell
scores = torch.tensor([0.2, 0.9, 0.4])
best = scores.max()
print(best.item())
