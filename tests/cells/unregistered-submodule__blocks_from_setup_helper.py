# pitfall: unregistered-submodule
# kind: silent
# line: 2
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
def make_blocks(n, dim):
    return [nn.Sequential(nn.Linear(dim, dim), nn.ReLU()) for _ in range(n)]
# %% cell
net = nn.Linear(8, 8)
net.blocks = make_blocks(3, 8)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
h = net(torch.randn(2, 8))
for b in net.blocks:
    h = b(h)
print(h.shape)
