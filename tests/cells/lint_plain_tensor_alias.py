# pitfall: tensor-aliasing
# kind: silent
# line: 2
# source: keeping the "previous" weights with `prev = w` before an in-place update
# shape: top
# %% setup
import torch
# %% cell
w = torch.ones(3)
prev = w
w += 0.5
print("change", (w - prev).abs().sum().item())
