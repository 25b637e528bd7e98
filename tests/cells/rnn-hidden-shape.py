# pitfall: rnn-hidden-shape
# kind: error
# line: 3, 4
# source: the initial state of a two-layer bidirectional LSTM sized for one direction
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
x = torch.randn(3, 7, 10)
h0 = torch.zeros(2, 3, 20)
c0 = torch.zeros(2, 3, 20)
out, _ = lstm(x, (h0, c0))
print(out.shape)
