# pitfall: nondeterminism
# kind: silent
# line: 1, 5
# source: written for the test suite
# shape: function
# %% setup
import numpy as np
import torch
import torch.nn as nn
reviews = torch.randn(200, 12)
sentiment = torch.randint(0, 2, (200,))
# %% cell
torch.manual_seed(123)
model = nn.Linear(12, 2)

def holdout_split(n, frac=0.8):
    order = np.random.permutation(n)
    cut = int(n * frac)
    return order[:cut], order[cut:]

train_idx, test_idx = holdout_split(len(reviews))
with torch.no_grad():
    acc = (model(reviews[test_idx]).argmax(1) == sentiment[test_idx]).float().mean()
print(acc.item())
