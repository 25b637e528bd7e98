# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: top
# %% setup
import copy
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
samples = torch.randn(64, 10)

def augment(x):
    return x + 0.1 * torch.randn_like(x)
# %% cell
online = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 8))
predictor = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8))
target = copy.deepcopy(online)
for p in target.parameters():
    p.requires_grad = False
target.train()
opt = torch.optim.SGD(list(online.parameters()) + list(predictor.parameters()), lr=0.05)
tau = 0.99
for i in range(0, 64, 16):
    v1, v2 = augment(samples[i:i + 16]), augment(samples[i:i + 16])
    p1, p2 = predictor(online(v1)), predictor(online(v2))
    with torch.no_grad():
        z1, z2 = target(v1), target(v2)
    loss = (2 - 2 * F.cosine_similarity(p1, z2, dim=1)).mean() + (2 - 2 * F.cosine_similarity(p2, z1, dim=1)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        for t, o in zip(target.parameters(), online.parameters()):
            t.mul_(tau).add_(o, alpha=1 - tau)
print(loss.item())
