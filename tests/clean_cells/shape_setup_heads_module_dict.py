# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(39)
scans = torch.randn(20, 30)
organ, lesion = torch.randint(0, 4, (20,)), torch.randint(0, 2, (20,))

class MultiHead(nn.Module):
    def __init__(self, tasks):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(30, 24), nn.ReLU())
        self.heads = nn.ModuleDict({name: nn.Linear(24, n) for name, n in tasks.items()})

    def forward(self, x):
        h = self.trunk(x)
        return {name: head(h) for name, head in self.heads.items()}
# %% cell
net = MultiHead({"organ": 4, "lesion": 2})
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for step in range(3):
    out = net(scans)
    loss = F.cross_entropy(out["organ"], organ) + F.cross_entropy(out["lesion"], lesion)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(len(net.state_dict()))
