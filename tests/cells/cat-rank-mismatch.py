# pitfall: cat-rank-mismatch
# kind: error
# line: 3
# source: a (B,) length column joined with (B, F) features
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
backbone = nn.Linear(20, 32)
x = torch.randn(6, 20)
seq_len = torch.randint(1, 50, (6,))
# %% cell
pooled = backbone(x)
lengths = seq_len.float() / 50
features = torch.cat([pooled, lengths], dim=1)
print(features.shape)
