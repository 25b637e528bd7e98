# pitfall: train-eval-mode
# kind: silent
# line: 13
# source: an epoch loop that evaluates at the end of each epoch and never switches back to training
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(6)
x_fit, y_fit = torch.randn(96, 12), torch.randint(0, 3, (96,))
x_dev, y_dev = torch.randn(32, 12), torch.randint(0, 3, (32,))
# %% cell
clf = nn.Sequential(nn.Linear(12, 48), nn.ReLU(), nn.Dropout(0.4), nn.Linear(48, 3))
optim = torch.optim.Adam(clf.parameters(), lr=1e-3)
history = []
for epoch in range(4):
    for i in range(0, 96, 32):
        optim.zero_grad()
        loss = F.cross_entropy(clf(x_fit[i:i + 32]), y_fit[i:i + 32])
        loss.backward()
        optim.step()
    with torch.no_grad():
        dev_acc = (clf(x_dev).argmax(1) == y_dev).float().mean().item()
    history.append(dev_acc)
    clf.eval()
print(history)
