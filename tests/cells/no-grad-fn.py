# pitfall: no-grad-fn
# kind: error
# line: 5, 6
# source: trying to optimise the error rate directly instead of a differentiable loss
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
x = torch.randn(128, 10)
y = (x[:, 0] + x[:, 1] > 0).long()
# %% cell
clf = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
for epoch in range(5):
    logits = clf(x)
    preds = logits.argmax(dim=1)
    error_rate = (preds != y).float().mean()
    opt.zero_grad()
    error_rate.backward()
    opt.step()
    print(epoch, error_rate.item())
