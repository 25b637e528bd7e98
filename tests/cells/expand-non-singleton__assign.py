# pitfall: expand-non-singleton
# kind: error
# line: 6
# source: one-vs-rest scoring: each binary model's (N, 1) output written into a column of a score table
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
val_x = torch.randn(50, 12)
# %% cell
genres = ["rock", "jazz", "pop"]
detectors = {g: nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 1)) for g in genres}
scores = torch.empty(len(val_x), len(genres))
with torch.no_grad():
    for k, g in enumerate(genres):
        scores[:, k] = torch.sigmoid(detectors[g](val_x))
print(scores.argmax(dim=1)[:10])
