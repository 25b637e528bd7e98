# pitfall: numpy-method-on-tensor
# kind: error
# line: 2
# source: a backup of a layer's weights taken with NumPy's copy()
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Linear(3, 2)
# %% cell
weights = model.weight.detach()
backup = weights.copy()
print(backup.shape)
