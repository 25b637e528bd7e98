# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
rng = np.random.default_rng(37)
load_curves = rng.normal(loc=50.0, scale=5.0, size=(48, 24)).astype(np.float32)

class RelativeLoad(Dataset):
    def __init__(self, curves):
        self.curves = curves

    def __len__(self):
        return len(self.curves)

    def __getitem__(self, i):
        curve = torch.tensor(self.curves[i])
        curve /= curve.max()
        return curve
# %% cell
loader = DataLoader(RelativeLoad(load_curves), batch_size=16)
peaks = [batch.max().item() for batch in loader]
print(peaks, load_curves[0, 0])
