# pitfall: collate-sample-type
# kind: error
# line: 8
# source: __getitem__ builds the sample but never returns it
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
        sample = (torch.tensor(a), torch.tensor(b))

loader = DataLoader(PairDataset([(1.0, 2.0), (3.0, 4.0)]), batch_size=2)
batch = next(iter(loader))
