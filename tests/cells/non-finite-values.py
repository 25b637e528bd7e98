# pitfall: non-finite-values
# kind: silent
# line: 1
# source: written for the test suite
# shape: top
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(16)
clicks = torch.tensor([3.0, 0.0, 7.0, 1.0, 0.0, 2.0])
impressions = torch.tensor([40.0, 0.0, 90.0, 10.0, 25.0, 30.0])
# %% cell
ctr = clicks / impressions
ad_features = torch.stack([ctr, impressions.log1p()], dim=1)
ranker = nn.Linear(2, 1)
with torch.no_grad():
    scores = ranker(ad_features).squeeze(1)
print("mean score", scores.mean().item())
