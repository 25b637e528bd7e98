# pitfall: none
# kind: clean
# line: 0
# source: standardised NumPy features converted to a tensor before the classifier
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
import numpy as np
clf = nn.Linear(5, 2)
X = np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32)
# %% cell
X_scaled = torch.from_numpy((X - X.mean(0)) / X.std(0))
with torch.no_grad():
    preds = clf(X_scaled)
print(preds.argmax(1))
