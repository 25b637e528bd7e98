# pitfall: name-shadowing
# kind: error
# line: 2
# source: the builtin max rebound to a tensor, then called a few lines later
# %% setup
import torch
torch.manual_seed(0)
# %% cell
values = torch.randn(10)
max = values.max()
normalised = values / max
clipped = [min(v, 1.0) for v in normalised.tolist()]
peak = max(values.tolist())
