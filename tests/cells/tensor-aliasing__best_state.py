# pitfall: tensor-aliasing
# kind: silent
# line: 11
# source: early stopping that keeps the "best" weights in a state_dict taken by reference
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x_tr, y_tr = torch.randn(128, 6), torch.randn(128, 1)
x_va, y_va = torch.randn(32, 6), torch.randn(32, 1)
# %% cell
model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
best_val, best_state = float("inf"), None
for epoch in range(8):
    optimizer.zero_grad()
    F.mse_loss(model(x_tr), y_tr).backward()
    optimizer.step()
    with torch.no_grad():
        val = F.mse_loss(model(x_va), y_va).item()
    if val < best_val:
        best_val, best_state = val, model.state_dict()
model.load_state_dict(best_state)
print(f"restored the model with validation loss {best_val:.4f}")
