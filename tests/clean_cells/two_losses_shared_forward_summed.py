# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
traffic = torch.randn(40, 9)
volume, congested = torch.randn(40, 1), torch.randint(0, 2, (40,))
# %% cell
net = nn.Sequential(nn.Linear(9, 24), nn.ReLU(), nn.Linear(24, 3))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for i in range(0, 40, 10):
    out = net(traffic[i:i + 10])
    loss_volume = F.mse_loss(out[:, :1], volume[i:i + 10])
    loss_congestion = F.cross_entropy(out[:, 1:], congested[i:i + 10])
    total = loss_volume + 0.5 * loss_congestion
    opt.zero_grad()
    total.backward()
    opt.step()
print(loss_volume.item(), loss_congestion.item())
