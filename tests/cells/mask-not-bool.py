# pitfall: mask-not-bool
# kind: error
# line: 1
# source: torch.where with a condition turned into floats
# %% setup
import torch
torch.manual_seed(0)
scores = torch.rand(8)
# %% cell
keep = (scores > 0.5).float()
filtered = torch.where(keep, scores, torch.zeros_like(scores))
print(filtered)
