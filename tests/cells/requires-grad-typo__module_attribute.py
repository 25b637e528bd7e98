# pitfall: requires-grad-typo
# kind: silent
# line: 2
# source: freezing a backbone by setting an attribute on the module instead of its parameters
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
backbone = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
x = torch.randn(8, 3, 16, 16)
y = torch.randint(0, 2, (8,))
# %% cell
classifier = nn.Sequential(backbone, nn.Linear(16, 2))
backbone.requires_grad = False
opt = torch.optim.SGD(classifier.parameters(), lr=0.01)
loss = nn.functional.cross_entropy(classifier(x), y)
opt.zero_grad()
loss.backward()
opt.step()
