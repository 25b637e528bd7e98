# pitfall: bn-running-stats
# kind: silent
# line: 2
# source: one function for the training and the validation pass, written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(6, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
train_x, train_y = torch.randn(48, 6), torch.randint(0, 2, (48,))
val_x, val_y = torch.randn(16, 6) + 2, torch.randint(0, 2, (16,))
# %% cell
def one_pass(model, x, y, opt=None):
    model.train()
    if opt is None:
        with torch.no_grad():
            return (model(x).argmax(1) == y).float().mean().item()
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()

opt = torch.optim.Adam(net.parameters(), lr=1e-2)
for epoch in range(3):
    print(one_pass(net, train_x, train_y, opt), one_pass(net, val_x, val_y))
