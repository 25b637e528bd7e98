# pitfall: eval-without-no-grad
# kind: silent
# line: 3
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(5)
graph_feats = [torch.randn(30, 8) for _ in range(6)]
adjacency = [(torch.rand(30, 30) > 0.8).float() for _ in range(6)]
gnn = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))

def embed_graph(model, x, adj):
    model.eval()
    h = model(adj @ x / adj.sum(1, keepdim=True).clamp(min=1))
    return h.mean(0)
# %% cell
graph_vectors = []
for x, adj in zip(graph_feats, adjacency):
    graph_vectors.append(embed_graph(gnn, x, adj))
similarity = torch.stack(graph_vectors) @ torch.stack(graph_vectors).T
print(similarity.shape)
