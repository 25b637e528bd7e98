# pitfall: gradscaler-fp16-params
# kind: error
# line: 2
# source: a regression net converted to float16 by hand, then trained with GradScaler
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
xs, ys = torch.randn(16, 6), torch.randn(16, 1)
# %% cell
net = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 1))
net.to(torch.float16)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
scaler = torch.amp.GradScaler("cpu")
pred = net(xs.half())
loss = F.mse_loss(pred.float(), ys)
scaler.scale(loss).backward()
scaler.step(opt)
scaler.update()
