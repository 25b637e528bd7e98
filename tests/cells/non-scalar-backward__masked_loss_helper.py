# pitfall: non-scalar-backward
# kind: error
# line: 5
# source: written for the test suite
# cause: a loss helper from a setup cell averages over time steps only, one loss per sequence
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
def masked_mse(pred, target, mask):
    """Squared error over the valid time steps of each sequence."""
    err = (pred - target) ** 2 * mask
    return err.sum(dim=1) / mask.sum(dim=1)
# %% cell
forecaster = nn.GRU(3, 1, batch_first=True)
series = torch.randn(4, 10, 3)
future = torch.randn(4, 10)
valid = (torch.rand(4, 10) > 0.2).float()
loss = masked_mse(forecaster(series)[0].squeeze(-1), future, valid)
loss.backward()
