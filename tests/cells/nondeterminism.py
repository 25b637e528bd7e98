# pitfall: nondeterminism
# kind: silent
# line: 1, 2
# source: torch seeded for reproducibility, but the train/validation split comes from unseeded NumPy
# shape: top
# %% setup
import numpy as np
import torch
import torch.nn as nn
features = torch.from_numpy(np.linspace(-1, 1, 5000, dtype=np.float32).reshape(500, 10))
targets = torch.sin(3 * features.sum(dim=1, keepdim=True) / 10)
# %% cell
torch.manual_seed(42)
perm = np.random.permutation(len(features))
train_idx, val_idx = perm[:400], perm[400:]
model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(100):
    loss = nn.functional.mse_loss(model(features[train_idx]), targets[train_idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
with torch.no_grad():
    val_loss = nn.functional.mse_loss(model(features[val_idx]), targets[val_idx]).item()
print(f"validation loss: {val_loss:.4f}")
