# pitfall: index-dtype
# kind: error
# line: 9
# source: token ids read as floats, passed to a model whose forward embeds them
# %% setup
import numpy as np
import torch
import torch.nn as nn
raw_ids = np.random.default_rng(7).integers(1, 50, size=(6, 10)).astype(np.float32)
# %% cell
class TinyTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(50, 8)
        self.out = nn.Linear(8, 2)
    def forward(self, tokens):
        return self.out(self.table(tokens))

batch = torch.from_numpy(raw_ids)
tagger = TinyTagger()
scores = tagger(batch)
