# pitfall: history-accumulation
# kind: silent
# line: 11
# source: per-epoch loss curve for plotting, summed from the loss tensors
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
batches = [(torch.randn(32, 20), torch.randint(0, 3, (32,))) for _ in range(8)]
# %% cell
model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_curve = []
for epoch in range(3):
    running = 0
    for xb, yb in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        running += loss
    loss_curve.append(running / len(batches))
print([round(float(v), 4) for v in loss_curve])
