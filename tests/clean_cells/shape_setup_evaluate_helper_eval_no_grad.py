# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(33)
tab_x, tab_y = torch.randn(90, 7), torch.randint(0, 2, (90,))
dev_x, dev_y = torch.randn(30, 7), torch.randint(0, 2, (30,))

def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    model.train()
    return acc
# %% cell
net = nn.Sequential(nn.Linear(7, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 2))
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
for epoch in range(3):
    for i in range(0, 90, 30):
        opt.zero_grad()
        F.cross_entropy(net(tab_x[i:i + 30]), tab_y[i:i + 30]).backward()
        opt.step()
    print(epoch, evaluate(net, dev_x, dev_y))
