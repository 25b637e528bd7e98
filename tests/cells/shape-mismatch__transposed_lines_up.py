# pitfall: shape-mismatch
# kind: error
# line: 2
# source: written for the test suite
# cause: a value made lines up: a batch of time series transposed to channels-first for a conv, then given to a linear layer
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
series = torch.randn(6, 50, 3)
# %% cell
smoother = nn.Conv1d(3, 3, kernel_size=5, padding=2)
channels_first = series.transpose(1, 2)
smoothed = smoother(channels_first)
residual = channels_first - smoothed
step_head = nn.Linear(3, 1)
next_value = step_head(residual)
print(next_value.shape)
