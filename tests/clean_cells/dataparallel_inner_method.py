# pitfall: none
# kind: clean
# line: 0
# source: an encoder's own embed() method reached through the wrapper's .module
# %% setup
import torch
import torch.nn as nn
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(6, 3)
    def forward(self, x):
        return self.proj(x)
    def embed(self, x):
        return nn.functional.normalize(self(x), dim=-1)
# %% cell
encoder = nn.DataParallel(Encoder())
core = encoder.module if isinstance(encoder, nn.DataParallel) else encoder
with torch.no_grad():
    vectors = core.embed(torch.randn(5, 6))
print(vectors.shape)
