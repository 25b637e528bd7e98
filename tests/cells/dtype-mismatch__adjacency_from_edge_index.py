# pitfall: dtype-mismatch
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
citations = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [1, 3]])

def adjacency(edge_index, n_nodes):
    adj = torch.zeros(n_nodes, n_nodes, dtype=edge_index.dtype)
    adj[edge_index[:, 0], edge_index[:, 1]] = 1
    adj[edge_index[:, 1], edge_index[:, 0]] = 1
    return adj + torch.eye(n_nodes, dtype=edge_index.dtype)

class GraphLayer(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out)

    def forward(self, adj, x):
        return torch.relu(self.lin(torch.matmul(adj, x)))
# %% cell
adj = adjacency(citations, 5)
paper_feats = torch.randn(5, 6)
layer = GraphLayer(6, 4)
scores = nn.Linear(4, 1)
out = scores(layer(adj, paper_feats))
print(out.squeeze(1))
