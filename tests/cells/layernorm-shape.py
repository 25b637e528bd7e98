# pitfall: layernorm-shape
# kind: error
# line: 2
# source: a LayerNorm built for a 512-wide model on 256-wide tokens
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
d_model = 256
final_norm = nn.LayerNorm(512)
tokens = torch.randn(2, 10, d_model)
normed = final_norm(tokens)
print(normed.shape)
