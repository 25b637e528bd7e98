# pitfall: rnn-input-size
# kind: error
# line: 4
# source: Conv1d features (N, C, L) given to an LSTM that reads features from the last dimension
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
conv = nn.Conv1d(12, 32, 3, padding=1)
lstm = nn.LSTM(32, 64, batch_first=True)
signals = torch.randn(4, 12, 50)
feats = conv(signals)
out, _ = lstm(feats)
print(out.shape)
