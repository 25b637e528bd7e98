# pitfall: target-out-of-range
# kind: error
# line: 4
# source: written for the test suite
# cause: a value made in a second, earlier cell: house numbers labelled 1-10 with 10 standing for the digit 0
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
crops = torch.rand(32, 1, 12, 12)
# %% setup
house_digits = torch.randint(1, 11, (32,))
house_digits[0] = 10
# %% cell
reader = nn.Sequential(nn.Flatten(), nn.Linear(144, 64), nn.ReLU(), nn.Linear(64, 10))
criterion = nn.CrossEntropyLoss()
for start in range(0, 32, 8):
    loss = criterion(reader(crops[start:start + 8]), house_digits[start:start + 8])
    loss.backward()
