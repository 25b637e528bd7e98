# pitfall: shape-mismatch
# kind: error
# line: 6
# source: written for the test suite
# cause: a ModuleList built in a loop: every layer takes and gives its own width instead of the next one
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(len(sizes) - 1):
            self.layers.append(nn.Linear(sizes[i], sizes[i]))
    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x

mlp = MLP([12, 32, 16, 3])
print(mlp(torch.randn(5, 12)).shape)
