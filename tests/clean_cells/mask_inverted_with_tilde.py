# pitfall: none
# kind: clean
# line: 0
# source: a validity mask inverted with ~ and turned into weights
# %% setup
import torch
lengths = torch.tensor([3, 0, 2, 0])
# %% cell
valid = lengths > 0
weights = (~valid).float()
print(weights)
