# pitfall: backward-twice
# kind: error
# line: 9
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
weather = torch.randn(32, 7)
temp_next, rain_next = torch.randn(32, 2), torch.randint(0, 2, (32,))
# %% cell
forecaster = nn.Sequential(nn.Linear(7, 24), nn.ReLU(), nn.Linear(24, 4))
opt = torch.optim.Adam(forecaster.parameters(), lr=1e-3)
for i in range(0, 32, 8):
    xb = weather[i:i + 8]
    opt.zero_grad()
    out = forecaster(xb)
    loss_temp = F.mse_loss(out[:, :2], temp_next[i:i + 8])
    loss_rain = F.cross_entropy(out[:, 2:], rain_next[i:i + 8])
    loss_temp.backward()
    loss_rain.backward()
    opt.step()
print(loss_temp.item(), loss_rain.item())
