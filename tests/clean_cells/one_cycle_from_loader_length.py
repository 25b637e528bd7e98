# pitfall: none
# kind: clean
# line: 0
# source: OneCycleLR sized from the loader's real number of batches
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
epochs = 3
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=epochs, steps_per_epoch=len(loader))
for epoch in range(epochs):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
print(round(sched.get_last_lr()[0], 6))
