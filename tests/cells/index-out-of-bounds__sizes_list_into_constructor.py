# pitfall: index-out-of-bounds
# kind: error
# line: 1
# source: written for the test suite
# shape: constructor
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# three coded columns of a patient table: ward (0..5), diagnosis group (0..9), insurer (0..3)
codes = torch.stack([torch.randint(0, 6, (120,)), torch.randint(0, 10, (120,)), torch.randint(0, 4, (120,))], 1)
codes[0] = torch.tensor([5, 9, 3])
outcome = torch.rand(120, 1)


class TabularNet(nn.Module):
    def __init__(self, cardinalities, width=4):
        super().__init__()
        self.tables = nn.ModuleList([nn.Embedding(n, width) for n in cardinalities])
        self.out = nn.Linear(width * len(cardinalities), 1)

    def forward(self, x):
        return self.out(torch.cat([t(x[:, i]) for i, t in enumerate(self.tables)], 1))
# %% cell
cardinalities = [int(codes[:, i].max()) for i in range(codes.shape[1])]
net = TabularNet(cardinalities)
optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
for start in range(0, 120, 40):
    loss = nn.functional.mse_loss(net(codes[start:start + 40]), outcome[start:start + 40])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
