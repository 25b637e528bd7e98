# pitfall: interpolate-size
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import numpy as np
import torch
import torch.nn.functional as F
torch.manual_seed(0)

def load_depth(frame):
    rng = np.random.default_rng(frame)
    encoded = rng.random((12, 16, 3)).astype(np.float32)
    return torch.from_numpy(encoded).unsqueeze(0).unsqueeze(0)
# %% cell
depth = load_depth(3)
h, w = 6, 8
depth_small = F.interpolate(depth, size=(h, w), mode="nearest")
print(depth_small.shape, depth_small.mean().item())
