# pitfall: bn-running-stats
# kind: silent
# line: 4, 6, 8
# source: a frozen backbone with BatchNorm left in training mode: its running stats still move
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
images, labels = torch.randn(8, 3, 16, 16), torch.randint(0, 5, (8,))
# %% cell
backbone = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
model = nn.Sequential(backbone, nn.Linear(8, 5))
for p in backbone.parameters():
    p.requires_grad = False
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
model.train()
for step in range(3):
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
