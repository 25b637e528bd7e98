# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(32)
graphs = [(torch.randn(12, 5), (torch.rand(12, 12) > 0.7).float(), torch.randint(0, 3, (12,))) for _ in range(4)]
# %% cell
class TinyGCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(5, 16), nn.Linear(16, 3)

    def forward(self, x, adj):
        norm = adj / adj.sum(1, keepdim=True).clamp(min=1)
        return self.lin2(torch.relu(norm @ self.lin1(x)))

def train_epoch(model, opt):
    model.train()
    running = 0.0
    for x, adj, y in graphs:
        opt.zero_grad()
        loss = F.cross_entropy(model(x, adj), y)
        loss.backward()
        opt.step()
        running += loss.item()
    return running / len(graphs)

gcn = TinyGCN()
adam = torch.optim.Adam(gcn.parameters(), lr=1e-2)
print([round(train_epoch(gcn, adam), 3) for _ in range(3)])
