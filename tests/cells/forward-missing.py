# pitfall: forward-missing
# kind: error
# line: 6
# source: forward indented inside __init__, where it is only a local function
# %% setup
import torch
import torch.nn as nn
# %% cell
class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x)

net = TinyNet()
out = net(torch.randn(3, 4))
