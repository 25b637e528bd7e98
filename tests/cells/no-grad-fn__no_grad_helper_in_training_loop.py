# pitfall: no-grad-fn
# kind: error
# line: 4
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
spectra = torch.randn(40, 30)
compound = torch.randint(0, 5, (40,))


@torch.no_grad()
def scores_for(net, batch):
    net.eval()
    out = net(batch)
    net.train()
    return out
# %% cell
net = nn.Sequential(nn.Linear(30, 24), nn.ReLU(), nn.Linear(24, 5))
optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
for start in range(0, 40, 10):
    out = scores_for(net, spectra[start:start + 10])
    loss = nn.functional.cross_entropy(out, compound[start:start + 10])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
