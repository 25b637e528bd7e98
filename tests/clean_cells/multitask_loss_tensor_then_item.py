# pitfall: none
# kind: clean
# line: 0
# source: two losses added as tensors for backward, numbers taken with .item() only for logging
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
model = nn.Linear(10, 3)
x, y_cls, y_reg = torch.randn(8, 10), torch.randint(0, 2, (8,)), torch.randn(8)
# %% cell
def focal_loss(logits, target, gamma=2.0):
    ce = F.cross_entropy(logits, target, reduction="none")
    p = torch.exp(-ce)
    return ((1 - p) ** gamma * ce).mean()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
opt.zero_grad()
out = model(x)
total = focal_loss(out[:, :2], y_cls) + F.mse_loss(out[:, 2], y_reg)
total.backward()
opt.step()
print(total.item())
