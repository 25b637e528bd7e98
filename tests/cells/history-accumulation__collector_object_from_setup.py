# pitfall: history-accumulation
# kind: silent
# line: 8
# source: a metrics tracker of an earlier cell handed the loss tensor, written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)


class Tracker:
    def __init__(self):
        self.values = {}

    def log(self, key, value):
        self.values.setdefault(key, []).append(value)


net = nn.Linear(6, 3)
feats, labels = torch.randn(48, 6), torch.randint(0, 3, (48,))
# %% cell
tracker = Tracker()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for i in range(0, 48, 8):
    loss = F.cross_entropy(net(feats[i:i + 8]), labels[i:i + 8])
    opt.zero_grad()
    loss.backward()
    opt.step()
    tracker.log("loss", loss)
    tracker.log("step", i)
