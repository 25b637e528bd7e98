# pitfall: none
# kind: clean
# line: 0
# source: __getitem__ returns the sample it builds
# %% setup
import torch
from torch.utils.data import Dataset, DataLoader
# %% cell
class PairDataset(Dataset):
    def __init__(self, pairs):
        self.pairs = pairs
    def __len__(self):
        return len(self.pairs)
    def __getitem__(self, i):
        a, b = self.pairs[i]
        return torch.tensor(a), torch.tensor(b)

loader = DataLoader(PairDataset([(1.0, 2.0), (3.0, 4.0)]), batch_size=2)
xs, ys = next(iter(loader))
print(xs.tolist(), ys.tolist())
