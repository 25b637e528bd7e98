# pitfall: none
# kind: clean
# line: 0
# source: gradient ascent on an input image that detaches each update before re-enabling grad
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
# %% cell
canvas = torch.rand(1, 3, 16, 16, requires_grad=True)
for it in range(3):
    activation = net(canvas)[0, 5]
    (grad,) = torch.autograd.grad(activation, canvas)
    canvas = (canvas + 0.05 * grad).clamp(0, 1).detach()
    canvas.requires_grad = True
print(canvas.is_leaf, canvas.requires_grad)
