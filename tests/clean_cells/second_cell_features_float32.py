# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a value made in a second, earlier cell: the feature matrix cast to float32 there
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
rng = np.random.default_rng(2)
# %% setup
raw = rng.normal(size=(50, 8))
features = torch.tensor(raw, dtype=torch.float32)
churned = torch.from_numpy((raw[:, 0] > 0.5).astype(np.float32))
# %% cell
churn_model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(churn_model.parameters())
opt.zero_grad()
loss = nn.functional.binary_cross_entropy_with_logits(churn_model(features).squeeze(1), churned)
loss.backward()
opt.step()
