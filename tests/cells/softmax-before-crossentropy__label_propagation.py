# pitfall: softmax-before-crossentropy
# kind: silent
# line: 7
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(3)

class LabelPropagation(nn.Module):
    """Soft labels of the queries: an attention over the labelled nodes' one-hot labels."""
    def __init__(self, dim):
        super().__init__()
        self.key = nn.Linear(dim, 16)

    def forward(self, labelled, labels_onehot, queries):
        weights = F.softmax(self.key(queries) @ self.key(labelled).T, dim=-1)
        return weights @ labels_onehot

nodes, node_class = torch.randn(40, 10), torch.randint(0, 4, (40,))
# %% cell
prop = LabelPropagation(10)
optimizer = torch.optim.Adam(prop.parameters(), lr=1e-2)
onehot = F.one_hot(node_class[:30], 4).float()
for step in range(5):
    scores = prop(nodes[:30], onehot, nodes[30:])
    optimizer.zero_grad()
    loss = F.cross_entropy(scores, node_class[30:])
    loss.backward()
    optimizer.step()
