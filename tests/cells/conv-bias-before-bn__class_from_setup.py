# pitfall: conv-bias-before-bn
# kind: silent
# line: 1
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn

class DepthwiseSeparable(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return torch.relu(self.norm(self.pointwise(self.depthwise(x))))
# %% cell
stage = DepthwiseSeparable(16, 32)
frames = torch.randn(2, 16, 12, 12)
print(stage(frames).mean().item())
