# pitfall: none
# kind: clean
# line: 0
# source: a regression net kept in float32, trained with autocast and GradScaler
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
xs, ys = torch.randn(16, 6), torch.randn(16, 1)
# %% cell
net = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
scaler = torch.amp.GradScaler("cpu")
for _ in range(3):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.mse_loss(net(xs).float(), ys)
    opt.zero_grad()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
print(round(loss.item(), 4))
