# pitfall: requires-grad-non-leaf
# kind: error
# line: 5
# source: feature visualisation by gradient ascent on the input, re-enabling grad on the updated image
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
# %% cell
canvas = torch.rand(1, 3, 16, 16, requires_grad=True)
for it in range(3):
    activation = net(canvas)[0, 5]
    activation.backward()
    canvas = (canvas + 0.05 * canvas.grad).clamp(0, 1)
    canvas.requires_grad = True
