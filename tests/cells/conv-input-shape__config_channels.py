# pitfall: conv-input-shape
# kind: error
# line: 4
# source: written for the test suite
# cause: a module constructor's channels from an options object set in a setup cell for grayscale scans
# %% setup
import torch
import torch.nn as nn
from types import SimpleNamespace
torch.manual_seed(0)
opts = SimpleNamespace(grayscale=True, base=8, classes=2)
# %% cell
class Screener(nn.Module):
    def __init__(self, opts):
        super().__init__()
        self.conv = nn.Conv2d(1 if opts.grayscale else 3, opts.base, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(opts.base, opts.classes)
    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))

screener = Screener(opts)
rgb_scans = torch.rand(3, 3, 24, 24)
print(screener(rgb_scans).shape)
