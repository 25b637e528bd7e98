# pitfall: no-grad-fn
# kind: error
# line: 3
# source: written for the test suite
# cause: a value made in a second, earlier cell: the whole network frozen there while only the backbone was meant
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
backbone = nn.Sequential(nn.Linear(20, 32), nn.ReLU())
classifier = nn.Sequential(backbone, nn.Linear(32, 5))
# %% setup
for p in classifier.parameters():
    p.requires_grad = False
# %% cell
opt = torch.optim.SGD(backbone.parameters(), lr=0.1)
x, y = torch.randn(12, 20), torch.randint(0, 5, (12,))
loss = nn.functional.cross_entropy(classifier(x), y)
loss.backward()
