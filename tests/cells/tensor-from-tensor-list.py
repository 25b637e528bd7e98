# pitfall: tensor-from-tensor-list
# kind: error
# line: 5
# source: embeddings of several batches collected in a list and joined with torch.tensor
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
all_emb = torch.tensor(embeddings)
print(all_emb.shape)
