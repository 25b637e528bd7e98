# pitfall: none
# kind: clean
# line: 0
# source: fine-tuning a head on a frozen backbone whose BatchNorm layers are kept in eval mode
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
images, labels = torch.randn(8, 3, 16, 16), torch.randint(0, 5, (8,))
# %% cell
backbone = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
head = nn.Linear(8, 5)
for p in backbone.parameters():
    p.requires_grad = False
optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
backbone.eval()
head.train()
for step in range(3):
    with torch.no_grad():
        feats = backbone(images)
    loss = F.cross_entropy(head(feats), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(loss.item())
