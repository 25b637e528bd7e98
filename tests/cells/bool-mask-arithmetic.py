# pitfall: bool-mask-arithmetic
# kind: error
# line: 2
# source: a validity mask negated with - to weight the invalid steps
# %% setup
import torch
lengths = torch.tensor([3, 0, 2, 0])
# %% cell
valid = lengths > 0
weights = -valid + 1
print(weights)
