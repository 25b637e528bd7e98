# pitfall: train-eval-mode
# kind: silent
# line: 4
# source: a test cell after training: no_grad is there, eval() is not
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
test_batches = [(torch.randn(8, 6), torch.randint(0, 2, (8,))) for _ in range(2)]
# %% cell
correct = 0
with torch.no_grad():
    for x, y in test_batches:
        pred = model(x).argmax(1)
        correct += (pred == y).sum().item()
print(correct)
