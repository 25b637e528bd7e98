# pitfall: collate-variable-length
# kind: error
# line: 1
# source: written for the test suite
# shape: setup
# %% setup
import torch
from torch.utils.data import Dataset, DataLoader
torch.manual_seed(0)


class PointClouds(Dataset):
    def __init__(self, n):
        self.sizes = [64 + 8 * (i % 3) for i in range(n)]

    def __len__(self):
        return len(self.sizes)

    def __getitem__(self, i):
        return {"points": torch.randn(self.sizes[i], 3), "label": i % 4}


scans = PointClouds(12)
# %% cell
batches = DataLoader(scans, batch_size=4, shuffle=True)
for batch in batches:
    print(batch["points"].shape, batch["label"])
