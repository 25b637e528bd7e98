# pitfall: no-grad-fn
# kind: error
# line: 4, 3
# source: transfer learning where the loop meant to freeze the convolution freezes the head too
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
images, labels = torch.randn(16, 3, 8, 8), torch.randint(0, 4, (16,))
# %% cell
net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
net.append(nn.Linear(8, 4))
for p in net.parameters():
    p.requires_grad = False
opt = torch.optim.SGD(net[-1].parameters(), lr=1e-3)
loss = F.cross_entropy(net(images), labels)
loss.backward()
