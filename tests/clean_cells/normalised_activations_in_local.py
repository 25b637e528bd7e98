# pitfall: none
# kind: clean
# line: 0
# source: forward keeps the normalised activations in a local variable, not in the LayerNorm's attribute
# %% setup
import torch
import torch.nn as nn
# %% cell
class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc = nn.Linear(d, d)
    def forward(self, x):
        h = self.norm(x)
        return self.fc(h)

block = Block(8)
with torch.no_grad():
    y = block(torch.randn(2, 8))
print(y.shape)
