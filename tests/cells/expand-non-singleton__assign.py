# pitfall: expand-non-singleton
# kind: error
# line: 6
# source: filling a preallocated embedding table batch by batch; the last batch is smaller
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
corpus = torch.randn(70, 40)
# %% cell
encoder = nn.Linear(40, 16)
bs = 32
table = torch.empty(len(corpus), 16)
with torch.no_grad():
    for b in range(0, len(corpus) // bs + 1):
        table[b * bs:(b + 1) * bs] = encoder(corpus[b * bs:b * bs + bs - 2])
print(table.shape)
