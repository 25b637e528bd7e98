# pitfall: conv-input-shape
# kind: error
# line: 2
# source: written for the test suite
# cause: a value made lines up: square HWC frames permuted with the wrong axis order
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
frames = np.random.default_rng(0).random((4, 24, 24, 3)).astype(np.float32)
# %% cell
batch = torch.from_numpy(frames)
batch = batch.permute(0, 2, 1, 3)
batch = (batch - 0.5) / 0.25
encoder = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
features = encoder(batch)
print(features.shape)
