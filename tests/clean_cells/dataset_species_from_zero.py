# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a Dataset's __init__ in a setup cell numbers the species from 0
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(0)
# %% setup
class Flowers(Dataset):
    def __init__(self, measurements, species):
        self.x = torch.tensor(measurements, dtype=torch.float32)
        self.index = {name: i for i, name in enumerate(sorted(set(species)))}
        self.y = torch.tensor([self.index[s] for s in species])
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
# %% cell
flowers = Flowers(torch.rand(24, 4).tolist(), ["setosa", "versicolor", "virginica"] * 8)
model = nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in DataLoader(flowers, batch_size=6, shuffle=True):
    opt.zero_grad()
    nn.CrossEntropyLoss()(model(x), y).backward()
    opt.step()
