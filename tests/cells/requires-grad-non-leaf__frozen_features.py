# pitfall: requires-grad-non-leaf
# kind: error
# line: 2
# source: trying to keep the backbone out of training by switching off requires_grad on its output
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
backbone = nn.Sequential(nn.Linear(30, 64), nn.ReLU())
head = nn.Linear(64, 4)
batch = torch.randn(8, 30)
# %% cell
opt = torch.optim.SGD(head.parameters(), lr=0.1)
features = backbone(batch)
features.requires_grad_(False)
loss = head(features).logsumexp(1).mean()
loss.backward()
opt.step()
