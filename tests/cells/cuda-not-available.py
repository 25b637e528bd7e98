# pitfall: cuda-not-available
# kind: error
# line: 6
# requires: nocuda
# source: a tutorial notebook that assumes a GPU, run on a laptop with the CPU-only wheel
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
digits = torch.rand(64, 1, 28, 28)
# %% cell
lenet = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 10),
)
lenet = lenet.cuda()
print(lenet(digits.cuda()).shape)
