# pitfall: none
# kind: clean
# line: 0
# source: embeddings of several batches joined with torch.cat
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
encoder = nn.Linear(16, 4)
batches = torch.randn(3, 8, 16)
# %% cell
embeddings = []
with torch.no_grad():
    for b in batches:
        embeddings.append(encoder(b))
all_emb = torch.cat(embeddings)
print(all_emb.shape)
