# pitfall: cuda-oom
# kind: error
# line: 3
# source: nearest neighbours over a whole embedding catalogue with one N x N matrix
# requires: cuda
# %% setup
import torch
torch.manual_seed(0)
catalog = torch.randn(300_000, 256)                   # product embeddings from a retrieval model
catalog = catalog / catalog.norm(dim=1, keepdim=True)
# %% cell
device = torch.device("cuda")
emb = catalog.to(device)
sim = emb @ emb.T
sim.fill_diagonal_(-1)
nearest = sim.argmax(dim=1)
print(nearest[:10].tolist())
