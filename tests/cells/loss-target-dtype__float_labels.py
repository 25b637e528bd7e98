# pitfall: loss-target-dtype
# kind: error
# line: 1, 4
# source: class labels loaded from a float64 .npy file, passed to nll_loss as they are
# %% setup
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
rng = np.random.default_rng(3)
label_array = rng.integers(0, 6, size=50).astype(np.float64)        # np.load("labels.npy")
activity_feats = torch.randn(50, 9)
# %% cell
labels = torch.from_numpy(label_array)
model = nn.Sequential(nn.Linear(9, 24), nn.ReLU(), nn.Linear(24, 6), nn.LogSoftmax(dim=1))
log_probs = model(activity_feats)
loss = F.nll_loss(log_probs, labels)
print(loss.item())
