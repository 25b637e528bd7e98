# pitfall: target-out-of-range
# kind: error
# line: 10
# source: written for the test suite
# shape: constructor
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
nodes = torch.randn(30, 8)
adjacency = (torch.rand(30, 30) > 0.8).float()
community = torch.arange(30) % 4  # four communities: 0, 1, 2, 3
# %% cell
class GraphConvNet(nn.Module):
    def __init__(self, features, hidden, n_classes):
        super().__init__()
        self.lift = nn.Linear(features, hidden)
        self.classify = nn.Linear(hidden, n_classes)

    def forward(self, x, a):
        return self.classify(torch.relu(a @ self.lift(x)))

n_classes = 3
gcn = GraphConvNet(8, 16, n_classes)
optimizer = torch.optim.Adam(gcn.parameters(), lr=1e-2)
for epoch in range(2):
    loss = nn.functional.cross_entropy(gcn(nodes, adjacency), community)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
