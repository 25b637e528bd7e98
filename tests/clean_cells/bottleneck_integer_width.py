# pitfall: none
# kind: clean
# line: 0
# source: a bottleneck width computed with //
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
width = 256
bottleneck = width // 4
block = nn.Sequential(nn.Linear(width, bottleneck), nn.ReLU(), nn.Linear(bottleneck, width))
print(block)
