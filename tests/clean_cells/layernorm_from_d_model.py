# pitfall: none
# kind: clean
# line: 0
# source: a LayerNorm built from the model's d_model
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
d_model = 256
final_norm = nn.LayerNorm(d_model)
tokens = torch.randn(2, 10, d_model)
normed = final_norm(tokens)
print(normed.shape)
