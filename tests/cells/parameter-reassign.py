# pitfall: parameter-reassign
# kind: error
# line: 7
# source: forward stores the normalised activations in the attribute that holds the LayerNorm
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
        self.norm = self.norm(x)
        return self.fc(self.norm)

block = Block(8)
y = block(torch.randn(2, 8))
