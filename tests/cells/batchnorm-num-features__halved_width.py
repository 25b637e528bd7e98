# pitfall: batchnorm-num-features
# kind: error
# line: 6
# source: written for the test suite
# cause: a module constructor's sizes computed in __init__: the norm gets half the layer's width
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
class Tower(nn.Module):
    def __init__(self, n_features, width):
        super().__init__()
        self.fc1 = nn.Linear(n_features, width)
        self.bottleneck = width // 2
        self.norm = nn.BatchNorm1d(self.bottleneck)
        self.fc2 = nn.Linear(width, 1)
    def forward(self, x):
        return self.fc2(torch.relu(self.norm(self.fc1(x))))

tower = Tower(n_features=10, width=64)
print(tower(torch.randn(16, 10)).shape)
