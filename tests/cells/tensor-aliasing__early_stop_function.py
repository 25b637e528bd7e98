# pitfall: tensor-aliasing
# kind: silent
# line: 10
# source: written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(23)
x_train, y_train = torch.randn(16, 10), torch.randint(0, 2, (16,))
x_val, y_val = torch.randn(40, 10), torch.randint(0, 2, (40,))
# %% cell
def train_early_stopping(model, epochs=8):
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    best_loss, best_weights = float("inf"), None
    for _ in range(epochs):
        opt.zero_grad()
        F.cross_entropy(model(x_train), y_train).backward()
        opt.step()
        val = F.cross_entropy(model(x_val), y_val).item()
        if val < best_loss:
            best_loss, best_weights = val, model.state_dict()
    model.load_state_dict(best_weights)
    return best_loss

print(train_early_stopping(nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))))
