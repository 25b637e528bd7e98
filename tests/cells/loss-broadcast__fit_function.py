# pitfall: loss-broadcast
# kind: silent
# line: 5, 12
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(14)
soil = torch.randn(96, 5)
yield_t = soil @ torch.tensor([0.5, 1.0, -0.3, 0.2, 0.8]) + 2.0
# %% cell
def fit(model, x, y, epochs=5):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()

crop_model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))
print(fit(crop_model, soil, yield_t))
