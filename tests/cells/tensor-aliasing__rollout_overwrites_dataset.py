# pitfall: tensor-aliasing
# kind: silent
# line: 2
# seen: run
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
trajectories = torch.randn(10, 5, 4)
dynamics = nn.Linear(4, 4)
# %% cell
def rollout(model, batch, steps):
    cur = batch
    preds = []
    for _ in range(steps):
        pred = model(cur)
        cur.copy_(pred)
        preds.append(pred)
    return torch.stack(preds, dim=1)

with torch.no_grad():
    predicted = rollout(dynamics, trajectories[:, 0], 4)
    error = (predicted - trajectories[:, 1:]).pow(2).mean().item()
print(predicted.shape, error)
