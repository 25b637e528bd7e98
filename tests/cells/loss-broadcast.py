# pitfall: loss-broadcast
# kind: silent
# line: 6, 7
# source: predicting trip durations: the model outputs (N, 1), the targets column is (N,)
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
trips = torch.randn(128, 6)
durations = trips @ torch.tensor([3.0, -1.0, 0.5, 2.0, 0.0, 1.0]) + 10.0     # shape (128,)
# %% cell
model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1))
criterion = nn.SmoothL1Loss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(30):
    for i in range(0, 128, 32):
        pred = model(trips[i:i + 32])
        loss = criterion(pred, durations[i:i + 32])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
print(f"final loss {loss.item():.3f}")
