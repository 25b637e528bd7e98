# pitfall: dtype-mismatch
# kind: error
# line: 4
# source: written for the test suite
# cause: a helper from a setup cell adds numpy noise, which turns the float32 batch into float64
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
rng = np.random.default_rng(0)
def jitter(x, scale=0.01):
    return x + rng.normal(0.0, scale, size=tuple(x.shape))
# %% cell
pose_net = nn.Sequential(nn.Linear(34, 64), nn.ReLU(), nn.Linear(64, 5))
keypoints = torch.rand(12, 34)
poses = torch.randint(0, 5, (12,))
augmented = jitter(keypoints)
loss = nn.functional.cross_entropy(pose_net(augmented), poses)
loss.backward()
