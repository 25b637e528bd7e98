# pitfall: none
# kind: clean
# line: 0
# source: a training step on an LSTM put back in training mode after sampling
# requires: cuda
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
lstm = nn.LSTM(8, 16).cuda()
x = torch.randn(5, 2, 8, device="cuda")
# %% cell
lstm.eval()
with torch.no_grad():
    sample, _ = lstm(x)
lstm.train()
out, _ = lstm(x)
loss = out.pow(2).mean()
loss.backward()
print(loss.item())
