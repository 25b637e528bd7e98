# pitfall: dataloader-worker-pickle
# kind: error
# line: 1, 2
# source: a point-cloud transform built from a lambda, loaded by spawned workers, written for the test suite
# shape: setup
# %% setup
import torch
from torch.utils.data import Dataset, DataLoader


class Jitter:
    def __init__(self, sigma):
        self.apply = lambda x: x + sigma * torch.randn_like(x)

    def __call__(self, x):
        return self.apply(x)


class Points(Dataset):
    def __init__(self, n, transform):
        self.x, self.transform = torch.randn(n, 3), transform

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.transform(self.x[i])
# %% cell
points = Points(16, Jitter(0.01))
loader = DataLoader(points, batch_size=4, num_workers=1, multiprocessing_context="spawn")
for batch in loader:
    print(batch.shape)
