# pitfall: layer-size-sequence
# kind: error
# line: 2
# source: a projection built with its two sizes packed in one tuple
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
dims = (128, 64)
proj = nn.Linear(dims)
print(proj)
