# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: top
# %% setup
import os
import tempfile
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(49)
ckpt_dir = tempfile.mkdtemp()
x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
# %% cell
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    checkpoint = {"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict()}
    torch.save(checkpoint, os.path.join(ckpt_dir, "last.pt"))
print(sorted(os.listdir(ckpt_dir)), round(loss.item(), 4))
