# pitfall: none
# kind: clean
# line: 0
# source: features of two splits joined along the sample dimension
# %% setup
import torch
torch.manual_seed(0)
# %% cell
train_feats = torch.randn(120, 32)
extra_feats = torch.randn(40, 32)
all_feats = torch.cat([train_feats, extra_feats], dim=0)
print(all_feats.shape)
