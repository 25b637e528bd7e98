# pitfall: none
# kind: clean
# line: 0
# source: the (1, 1) output of a single sample squeezed along its last dimension only
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Linear(4, 1)
x = torch.randn(1, 4)
# %% cell
with torch.no_grad():
    score = model(x).squeeze(-1)
first = score[0]
print(first)
