# pitfall: layernorm-shape
# kind: error
# line: 5
# source: written for the test suite
# cause: a module constructor's size computed in __init__: the norm gets the size of one head
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
class Block(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.norm = nn.LayerNorm(d_model // n_heads)
    def forward(self, x):
        out, _ = self.attn(x, x, x)
        return self.norm(x + out)

block = Block(d_model=32, n_heads=4)
print(block(torch.randn(2, 5, 32)).shape)
