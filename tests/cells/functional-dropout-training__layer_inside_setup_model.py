# pitfall: functional-dropout-training
# kind: silent
# line: 1
# source: a gated layer with a functional dropout, built inside another class, written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)


class Gate(nn.Module):
    def __init__(self, dim, p=0.3):
        super().__init__()
        self.lin, self.p = nn.Linear(dim, 2 * dim), p

    def forward(self, x):
        a, b = self.lin(x).chunk(2, dim=-1)
        return F.dropout(a * torch.sigmoid(b), self.p)


class Tagger(nn.Module):
    def __init__(self, dim=8, tags=5):
        super().__init__()
        self.gate = Gate(dim)
        self.out = nn.Linear(dim, tags)

    def forward(self, x):
        return self.out(self.gate(x))


tokens = torch.randn(4, 7, 8)
# %% cell
tagger = Tagger()
tagger.eval()
with torch.no_grad():
    first = tagger(tokens).argmax(-1)
    second = tagger(tokens).argmax(-1)
print((first == second).float().mean().item())
