# pitfall: optimizer-empty-params
# kind: error
# line: 3
# source: a backbone frozen for feature extraction, then only its trainable parameters given to SGD
# %% setup
import torch
import torch.nn as nn
# %% cell
backbone = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
for p in backbone.parameters():
    p.requires_grad = False
trainable = filter(lambda p: p.requires_grad, backbone.parameters())
optimizer = torch.optim.SGD(trainable, lr=0.1)
