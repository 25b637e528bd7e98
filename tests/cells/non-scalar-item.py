# pitfall: non-scalar-item
# kind: error
# line: 7, 8
# source: a multi-output regression (three targets) logging its validation error
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
val_batches = [(torch.randn(20, 7), torch.randn(20, 3)) for _ in range(4)]
# %% cell
model = nn.Sequential(nn.Linear(7, 32), nn.ReLU(), nn.Linear(32, 3))
model.eval()
total_mae, n = 0.0, 0
with torch.no_grad():
    for xb, yb in val_batches:
        pred = model(xb)
        batch_mae = (pred - yb).abs().mean(dim=0)
        total_mae += batch_mae.item() * len(xb)
        n += len(xb)
print(f"validation MAE {total_mae / n:.4f}")
