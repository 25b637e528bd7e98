# pitfall: from-numpy-shares-memory
# kind: silent
# line: 5, 6, 7
# source: sensor windows cached as one NumPy array; each epoch normalises the batches in place
# shape: top
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(0)
windows = rng.normal(loc=20.0, scale=4.0, size=(256, 12)).astype(np.float32)   # cached once
targets = rng.normal(size=(256, 1)).astype(np.float32)
mean, std = windows.mean(axis=0), windows.std(axis=0)
# %% cell
model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for epoch in range(3):
    for i in range(0, 256, 64):
        xb = torch.from_numpy(windows[i:i + 64])
        xb -= torch.from_numpy(mean)
        xb /= torch.from_numpy(std)
        yb = torch.from_numpy(targets[i:i + 64])
        loss = nn.functional.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(epoch, round(float(windows.mean()), 3), round(loss.item(), 4))
