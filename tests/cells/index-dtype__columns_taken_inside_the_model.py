# pitfall: index-dtype
# kind: error
# line: 3
# source: written for the test suite
# %% setup
import numpy as np
import torch
import torch.nn as nn
ratings = np.column_stack([np.arange(30) % 10, np.arange(30) % 7, np.ones(30)])  # user, item, rating: float64

class MatrixFactorization(nn.Module):
    def __init__(self, users=10, items=7, dim=4):
        super().__init__()
        self.user = nn.Parameter(torch.randn(users, dim))
        self.item = nn.Parameter(torch.randn(items, dim))

    def forward(self, rows):
        u, i = rows[:, 0], rows[:, 1]
        return (self.user[u] * self.item[i]).sum(1)
# %% cell
mf = MatrixFactorization()
for start in range(0, 30, 10):
    batch = torch.from_numpy(ratings[start:start + 10])
    predicted = mf(batch)
