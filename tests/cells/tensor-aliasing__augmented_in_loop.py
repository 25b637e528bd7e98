# pitfall: tensor-aliasing
# kind: silent
# line: 4
# source: jittering a batch of point clouds for augmentation, written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
clouds = torch.randn(12, 32, 3)
classes = torch.randint(0, 4, (12,))
net = nn.Sequential(nn.Flatten(), nn.Linear(96, 4))
# %% cell
def epoch(model, opt, sigma=0.02):
    for i in range(0, 12, 4):
        pts = clouds[i:i + 4]
        jittered = pts
        jittered += sigma * torch.randn_like(pts)
        loss = F.cross_entropy(model(jittered), classes[i:i + 4])
        opt.zero_grad()
        loss.backward()
        opt.step()

opt = torch.optim.SGD(net.parameters(), lr=0.1)
for _ in range(2):
    epoch(net, opt)
