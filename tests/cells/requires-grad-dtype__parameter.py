# pitfall: requires-grad-dtype
# kind: error
# line: 5
# source: a learned per-position bias initialised with arange, which makes int64 values
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
class PositionBias(nn.Module):
    def __init__(self, length):
        super().__init__()
        self.proj = nn.Linear(12, 12)
        self.offsets = nn.Parameter(torch.arange(length))
    def forward(self, x):
        return self.proj(x) + self.offsets[: x.shape[1], None]
layer = PositionBias(10)
out = layer(torch.randn(2, 10, 12))
