# pitfall: none
# kind: clean
# line: 0
# source: Conv1d features transposed to (N, L, C) before the LSTM
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
conv = nn.Conv1d(12, 32, 3, padding=1)
lstm = nn.LSTM(32, 64, batch_first=True)
signals = torch.randn(4, 12, 50)
feats = conv(signals).transpose(1, 2)
out, _ = lstm(feats)
print(out.shape)
