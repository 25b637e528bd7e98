# pitfall: none
# kind: clean
# line: 0
# source: the largest value kept under its own name, so the builtin max still works
# %% setup
import torch
torch.manual_seed(0)
# %% cell
values = torch.randn(10)
largest = values.max()
normalised = values / largest
clipped = [min(v, 1.0) for v in normalised.tolist()]
peak = max(values.tolist())
print(round(peak, 3), len(clipped))
