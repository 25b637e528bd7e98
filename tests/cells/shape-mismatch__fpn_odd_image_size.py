# pitfall: shape-mismatch
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(11)

class TinyFPN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c2 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.c3 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.lat2 = nn.Conv2d(8, 8, 1)
        self.lat3 = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        f2 = self.c2(x)
        f3 = self.c3(f2)
        top = F.interpolate(self.lat3(f3), scale_factor=2, mode="nearest")
        return self.lat2(f2) + top
# %% cell
tiles = torch.rand(2, 3, 50, 50)
fpn = TinyFPN()
features = fpn(tiles)
