# pitfall: grad-accumulation
# kind: silent
# line: 4, 9
# source: zero_grad() called once, before the training loop instead of inside it
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
house_feats = torch.randn(256, 13)
prices = house_feats @ torch.randn(13, 1) + 3.0
# %% cell
regressor = nn.Sequential(nn.Linear(13, 64), nn.ReLU(), nn.Linear(64, 1))
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(regressor.parameters(), lr=1e-3)
optimizer.zero_grad()
for epoch in range(3):
    for i in range(0, 256, 32):
        xb, yb = house_feats[i:i + 32], prices[i:i + 32]
        loss = criterion(regressor(xb), yb)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: mse {loss.item():.3f}")
