# pitfall: bn-batch-size-one
# kind: error
# line: 3
# source: an epoch over 257 samples in batches of 32: the ninth batch holds one sample
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
features, ratings = torch.randn(257, 24), torch.rand(257)
# %% cell
model = nn.Sequential(nn.Linear(24, 48), nn.BatchNorm1d(48), nn.ReLU(), nn.Linear(48, 1))
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
train_loader = DataLoader(TensorDataset(features, ratings), batch_size=32, shuffle=True)
for epoch in range(2):
    for step, (xb, yb) in enumerate(train_loader):
        pred = model(xb).squeeze(-1)
        loss = nn.functional.mse_loss(pred, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
