# pitfall: nan-in-backward
# kind: error
# line: 3, 4
# source: hand-written RMS normalisation over zero-padded sequence positions
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
torch.autograd.set_detect_anomaly(True)
tokens = torch.randn(4, 10, 16)
tokens[:, 7:] = 0.0          # padding
proj = nn.Linear(16, 16, bias=False)
# %% cell
def rms_norm(h):
    h = proj(h)
    rms = h.pow(2).mean(dim=-1, keepdim=True).sqrt()
    return h / rms

out = rms_norm(tokens)
loss = out[:, :7].pow(2).mean()
loss.backward()
