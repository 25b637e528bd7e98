# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a ModuleList built in a loop from consecutive sizes, and pyramid levels resized back before cat
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
# %% cell
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(len(sizes) - 1):
            self.layers.append(nn.Linear(sizes[i], sizes[i + 1]))
    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x

feature_map = torch.randn(2, 8, 16, 16)
pooled = []
for scale in (1, 2, 4):
    level = F.avg_pool2d(feature_map, kernel_size=scale)
    pooled.append(F.interpolate(level, size=(16, 16), mode="nearest"))
pyramid = torch.cat(pooled, dim=1)
mlp = MLP([24, 32, 16, 3])
opt = torch.optim.SGD(mlp.parameters(), lr=0.1)
opt.zero_grad()
mlp(pyramid.mean(dim=(2, 3))).sum().backward()
opt.step()
