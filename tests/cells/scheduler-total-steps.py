# pitfall: scheduler-total-steps
# kind: error
# line: 4
# source: OneCycleLR given a hand-computed total_steps that assumes 6 batches per epoch
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
data = TensorDataset(torch.randn(50, 3), torch.randn(50, 1))
# %% cell
net = nn.Linear(3, 1)
opt = torch.optim.SGD(net.parameters(), lr=0.01)
loader = DataLoader(data, batch_size=8)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3 * 6)
for epoch in range(3):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
