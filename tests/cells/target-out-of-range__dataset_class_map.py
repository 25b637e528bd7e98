# pitfall: target-out-of-range
# kind: error
# line: 2
# source: written for the test suite
# cause: a Dataset's __init__ in a setup cell numbers the species from 1
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(0)
# %% setup
class Flowers(Dataset):
    def __init__(self, measurements, species):
        self.x = torch.tensor(measurements, dtype=torch.float32)
        names = sorted(set(species))
        self.index = {name: i + 1 for i, name in enumerate(names)}
        self.y = torch.tensor([self.index[s] for s in species])
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
# %% cell
species = ["setosa", "versicolor", "virginica"] * 8
flowers = Flowers(torch.rand(24, 4).tolist(), species)
model = nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 3))
for x, y in DataLoader(flowers, batch_size=6, shuffle=True):
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
