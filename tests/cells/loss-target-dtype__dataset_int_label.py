# pitfall: loss-target-dtype
# kind: error
# line: 1
# source: written for the test suite
# cause: a Dataset's __getitem__ in a setup cell hands out the click label as an integer tensor
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(0)
class Impressions(Dataset):
    def __init__(self, n):
        self.features = torch.randn(n, 7)
        self.clicked = (torch.rand(n) > 0.7).tolist()
    def __len__(self):
        return len(self.clicked)
    def __getitem__(self, i):
        return self.features[i], torch.tensor(int(self.clicked[i]))
# %% cell
impressions = Impressions(40)
ctr_model = nn.Linear(7, 1)
criterion = nn.BCEWithLogitsLoss()
for feats, clicked in DataLoader(impressions, batch_size=10):
    loss = criterion(ctr_model(feats).squeeze(1), clicked)
    loss.backward()
