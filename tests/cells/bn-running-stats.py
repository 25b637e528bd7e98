# pitfall: bn-running-stats
# kind: silent
# line: 2, 6, 9
# source: linear probe on a frozen pretrained backbone whose BatchNorm layers stay in train mode
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
backbone = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
backbone.eval()  # pretend these weights and statistics come from pretraining
new_images = torch.randn(64, 3, 16, 16) * 3 + 1
new_labels = torch.randint(0, 4, (64,))
# %% cell
for p in backbone.parameters():
    p.requires_grad = False
probe = nn.Linear(16, 4)
model = nn.Sequential(backbone, probe)
optimizer = torch.optim.SGD(probe.parameters(), lr=0.1)
model.train()
for i in range(0, 64, 16):
    optimizer.zero_grad()
    F.cross_entropy(model(new_images[i:i + 16]), new_labels[i:i + 16]).backward()
    optimizer.step()
print(backbone[1].running_mean[:4])
