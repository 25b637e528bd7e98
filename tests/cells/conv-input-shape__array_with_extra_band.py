# pitfall: conv-input-shape
# kind: error
# line: 1
# source: written for the test suite
# shape: setup
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
denoiser = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1)).eval()


def read_scan(seed):
    """A scan with its acquisition mask stacked as a second plane: (H, W, 2)."""
    rng = np.random.default_rng(seed)
    return np.dstack([rng.random((24, 24)), rng.random((24, 24)) > 0.1]).astype(np.float32)
# %% cell
scan = read_scan(3)
batch = torch.from_numpy(scan).permute(2, 0, 1).unsqueeze(0)
with torch.no_grad():
    clean = denoiser(batch)
