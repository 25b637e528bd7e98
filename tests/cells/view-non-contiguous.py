# pitfall: view-non-contiguous
# kind: error
# line: 14, 15
# source: a hand-written multi-head self-attention that merges the heads with view
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
tokens = torch.randn(2, 10, 64)
# %% cell
class SelfAttention(nn.Module):
    def __init__(self, dim=64, heads=8):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / (C // self.heads) ** 0.5
        out = att.softmax(dim=-1) @ v                     # (B, heads, T, head_dim)
        out = out.transpose(1, 2)
        return self.proj(out.view(B, T, C))

print(SelfAttention()(tokens).shape)
