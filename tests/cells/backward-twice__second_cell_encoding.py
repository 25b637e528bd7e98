# pitfall: backward-twice
# kind: error
# line: 4
# source: written for the test suite
# cause: a value made in a second, earlier cell: node embeddings computed once, with their graph, and reused every step
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
adjacency = (torch.rand(10, 10) > 0.7).float()
node_features = torch.randn(10, 5)
gcn = nn.Linear(5, 8)
# %% setup
node_embeddings = torch.relu(adjacency @ gcn(node_features))
# %% cell
link_head = nn.Bilinear(8, 8, 1)
opt = torch.optim.Adam(list(link_head.parameters()) + list(gcn.parameters()), lr=0.01)
for step in range(3):
    score = link_head(node_embeddings[:5], node_embeddings[5:]).mean()
    opt.zero_grad()
    score.backward()
    opt.step()
