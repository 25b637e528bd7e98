# pitfall: index-dtype
# kind: error
# line: 2
# source: written for the test suite
# cause: a Dataset's __getitem__ in a setup cell pads token ids into a float tensor
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(0)
class Headlines(Dataset):
    def __init__(self, token_lists, length):
        self.token_lists, self.length = token_lists, length
    def __len__(self):
        return len(self.token_lists)
    def __getitem__(self, i):
        ids = torch.zeros(self.length)
        tokens = self.token_lists[i][: self.length]
        ids[: len(tokens)] = torch.tensor(tokens)
        return ids
# %% cell
corpus = [[3, 17, 5], [8, 2, 9, 11, 4], [1, 6], [12, 13, 14, 15]]
loader = DataLoader(Headlines(corpus, length=6), batch_size=2)
embed = nn.Embedding(20, 8)
for ids in loader:
    pooled = embed(ids).mean(dim=1)
    print(pooled.shape)
