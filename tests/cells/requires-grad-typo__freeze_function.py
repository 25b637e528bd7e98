# pitfall: requires-grad-typo
# kind: silent
# line: 3
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(18)
node_x = torch.randn(20, 6)
node_y = torch.randint(0, 3, (20,))
# %% cell
def freeze(module):
    for p in module.parameters():
        p.require_grad = False

encoder = nn.Sequential(nn.Linear(6, 16), nn.ReLU())
classifier = nn.Sequential(encoder, nn.Linear(16, 3))
freeze(encoder)
opt = torch.optim.SGD(classifier.parameters(), lr=0.1)
opt.zero_grad()
nn.functional.cross_entropy(classifier(node_x), node_y).backward()
opt.step()
