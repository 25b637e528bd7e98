# pitfall: float-size-argument
# kind: error
# line: 2
# source: a bottleneck width computed with / and given to Linear
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
width = 256
bottleneck = width / 4
block = nn.Sequential(nn.Linear(width, bottleneck), nn.ReLU(), nn.Linear(bottleneck, width))
print(block)
