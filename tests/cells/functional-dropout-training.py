# pitfall: functional-dropout-training
# kind: silent
# line: 10
# source: a hand-written attention layer with dropout on the attention weights
# shape: function
# %% setup
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
# %% cell
class SelfAttention(nn.Module):
    def __init__(self, dim, attn_drop=0.1):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn_drop = attn_drop

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        attn = (q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))).softmax(dim=-1)
        attn = F.dropout(attn, p=self.attn_drop)
        return attn @ v

layer = SelfAttention(32).eval()
tokens = torch.randn(2, 5, 32)
with torch.no_grad():
    print(torch.allclose(layer(tokens), layer(tokens)))
