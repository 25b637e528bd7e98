# pitfall: loss-not-tensor
# kind: error
# line: 4
# source: a focal loss helper that computes the loss but never returns it
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
model = nn.Linear(6, 3)
x, y = torch.randn(12, 6), torch.randint(0, 3, (12,))
# %% cell
def focal_loss(logits, target, gamma=2.0):
    ce = F.cross_entropy(logits, target, reduction="none")
    p = torch.exp(-ce)
    loss = ((1 - p) ** gamma * ce).mean()
loss = focal_loss(model(x), y)
loss.backward()
