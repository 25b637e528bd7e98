# pitfall: none
# kind: clean
# line: 0
# source: a projection built with its two sizes unpacked from a tuple
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
dims = (128, 64)
proj = nn.Linear(*dims)
print(proj)
