# pitfall: dtype-mismatch
# kind: error
# line: 3
# source: written for the test suite
# cause: a value made in a second, earlier cell: the feature matrix taken from a float64 array
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
rng = np.random.default_rng(2)
# %% setup
raw = rng.normal(size=(50, 8))
raw = (raw - raw.mean(axis=0)) / raw.std(axis=0)
features = torch.tensor(raw)
churned = torch.from_numpy((raw[:, 0] > 0.5).astype(np.float32))
# %% cell
churn_model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(churn_model.parameters())
logits = churn_model(features).squeeze(1)
loss = nn.functional.binary_cross_entropy_with_logits(logits, churned)
loss.backward()
