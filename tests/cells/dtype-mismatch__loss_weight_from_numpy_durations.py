# pitfall: dtype-mismatch
# kind: error
# line: 3
# source: written for the test suite
# shape: top
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
clip_seconds = np.random.default_rng(0).uniform(0.5, 3.0, size=6)
frames = torch.randn(48, 40)
commands = torch.randint(0, 6, (48,))
# %% cell
classifier = nn.Sequential(nn.Linear(40, 32), nn.ReLU(), nn.Linear(32, 6), nn.LogSoftmax(dim=1))
balance = clip_seconds.mean() / clip_seconds
criterion = nn.NLLLoss(weight=torch.as_tensor(balance))
optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
for start in range(0, 48, 16):
    loss = criterion(classifier(frames[start:start + 16]), commands[start:start + 16])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
