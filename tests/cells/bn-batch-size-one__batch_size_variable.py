# pitfall: bn-batch-size-one
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(9)

class ChurnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(12, 24), nn.BatchNorm1d(24), nn.ReLU(), nn.Linear(24, 2))

    def forward(self, x):
        return self.body(x)

customers, churned = torch.randn(40, 12), torch.randint(0, 2, (40,))
# %% cell
bs = 1
net = ChurnNet()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)

def train_epoch():
    for start in range(0, len(customers), bs):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(customers[start:start + bs]), churned[start:start + bs])
        loss.backward()
        opt.step()

train_epoch()
