# pitfall: none
# kind: clean
# line: 0
# source: torch.where with the boolean comparison as condition
# %% setup
import torch
torch.manual_seed(0)
scores = torch.rand(8)
# %% cell
keep = scores > 0.5
filtered = torch.where(keep, scores, torch.zeros_like(scores))
print(filtered)
