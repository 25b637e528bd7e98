# pitfall: rnn-backward-in-eval
# kind: error
# line: 1
# source: a training step on an LSTM left in eval mode after sampling
# requires: cuda
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
lstm = nn.LSTM(8, 16).cuda()
x = torch.randn(5, 2, 8, device="cuda")
# %% cell
lstm.eval()
out, _ = lstm(x)
loss = out.pow(2).mean()
loss.backward()
