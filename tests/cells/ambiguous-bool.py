# pitfall: ambiguous-bool
# kind: error
# line: 2
# source: a hand-written activation with a Python if, applied to a whole batch
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
features = torch.randn(16, 10)
# %% cell
def soft_clip(x, limit=2.0):
    if x.abs() > limit:
        return limit * torch.tanh(x / limit)
    return x

layer = nn.Linear(10, 10)
out = soft_clip(layer(features))
print(out.shape)
