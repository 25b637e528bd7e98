# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn

class DepthwiseSeparable(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.norm = nn.BatchNorm2d(c_out)
        self.head = nn.Conv2d(c_out, 2, 1)

    def forward(self, x):
        return self.head(torch.relu(self.norm(self.pointwise(self.depthwise(x)))))
# %% cell
stage = DepthwiseSeparable(16, 32)
frames = torch.randn(2, 16, 12, 12)
print(stage(frames).mean().item())
