# pitfall: loss-target-dtype
# kind: error
# line: 1, 6
# source: binary churn prediction with 0/1 labels kept as integers
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(0)
customers = rng.normal(size=(100, 15)).astype(np.float32)
churned = rng.integers(0, 2, size=100)               # 0 = stays, 1 = leaves
# %% cell
X, y = torch.from_numpy(customers), torch.from_numpy(churned)
model = nn.Sequential(nn.Linear(15, 32), nn.ReLU(), nn.Linear(32, 1))
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
logits = model(X).squeeze(1)
loss = criterion(logits, y)
optimizer.zero_grad()
loss.backward()
optimizer.step()
