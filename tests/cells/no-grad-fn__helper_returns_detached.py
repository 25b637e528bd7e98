# pitfall: no-grad-fn
# kind: error
# line: 4
# source: a hand-written focal loss helper that detaches what it returns
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(2)
inputs, labels = torch.randn(48, 12), torch.randint(0, 4, (48,))
# %% cell
def focal_loss(logits, targets, gamma=2.0):
    ce = F.cross_entropy(logits, targets, reduction="none")
    weight = (1 - torch.exp(-ce)) ** gamma
    total = (weight * ce).mean().detach()
    return total

net = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 4))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for epoch in range(3):
    loss = focal_loss(net(inputs), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
