# pitfall: none
# kind: clean
# line: 0
# source: a small module with forward defined at class level and called as net(x)
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
with torch.no_grad():
    out = net(torch.randn(3, 4))
print(out.shape)
