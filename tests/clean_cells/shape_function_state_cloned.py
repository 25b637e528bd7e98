# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(35)
x_fit, y_fit = torch.randn(16, 10), torch.randint(0, 2, (16,))
x_val, y_val = torch.randn(40, 10), torch.randint(0, 2, (40,))
# %% cell
def fit_with_early_stopping(model, epochs=6):
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    best, best_state = float("inf"), None
    for _ in range(epochs):
        opt.zero_grad()
        F.cross_entropy(model(x_fit), y_fit).backward()
        opt.step()
        with torch.no_grad():
            val = F.cross_entropy(model(x_val), y_val).item()
        if val < best:
            best = val
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        first_weight = model[0].weight.detach().clone()
    model.load_state_dict(best_state)
    return best, first_weight.norm().item()

print(fit_with_early_stopping(nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))))
