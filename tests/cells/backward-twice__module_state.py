# pitfall: backward-twice
# kind: error
# line: 10
# source: a smoothing layer that keeps its last output on the module between batches
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
frames = [torch.randn(4, 8) for _ in range(5)]
# %% cell
class Smoother(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.state = None
    def forward(self, x):
        out = self.proj(x)
        if self.state is not None:
            out = 0.9 * self.state + 0.1 * out
        self.state = out
        return out

smoother = Smoother()
opt = torch.optim.SGD(smoother.parameters(), lr=0.1)
for frame in frames:
    loss = smoother(frame).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
