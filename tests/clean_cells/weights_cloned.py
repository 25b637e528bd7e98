# pitfall: none
# kind: clean
# line: 0
# source: a backup of a layer's weights taken with clone()
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Linear(3, 2)
# %% cell
weights = model.weight.detach()
backup = weights.clone()
print(backup.shape)
