# pitfall: requires-grad-typo
# kind: silent
# line: 1
# source: written for the test suite
# shape: setup
# %% setup
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
frames, phonemes = torch.randn(40, 16), torch.randint(0, 4, (40,))

class DCT(nn.Module):
    def __init__(self, n):
        super().__init__()
        k = torch.arange(n, dtype=torch.float32)
        basis = torch.cos(math.pi / n * (k[None, :] + 0.5) * k[:, None])
        self.weight = nn.Parameter(basis * math.sqrt(2.0 / n))
        self.weight.requires_gard = False

    def forward(self, x):
        return x @ self.weight.t()
# %% cell
model = nn.Sequential(DCT(16), nn.Linear(16, 4))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for i in range(0, 40, 10):
    opt.zero_grad()
    F.cross_entropy(model(frames[i:i + 10]), phonemes[i:i + 10]).backward()
    opt.step()
print(model[1].bias.data)
