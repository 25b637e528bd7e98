# pitfall: unregistered-submodule
# kind: silent
# line: 2
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(26)
tokens = torch.randn(4, 10, 32)
# %% cell
encoder = nn.TransformerEncoderLayer(d_model=32, nhead=4, batch_first=True)
encoder.adapters = [nn.Linear(32, 32) for _ in range(2)]
optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-4)
h = encoder(tokens)
for adapter in encoder.adapters:
    h = h + adapter(h)
print(h.shape, sum(p.numel() for p in encoder.parameters()))
