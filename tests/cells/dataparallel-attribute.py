# pitfall: dataparallel-attribute
# kind: error
# line: 3
# source: an encoder's own embed() method called through its DataParallel wrapper
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
queries = torch.randn(5, 6)
vectors = encoder.embed(queries)
