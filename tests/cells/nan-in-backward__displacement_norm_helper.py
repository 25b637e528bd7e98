# pitfall: nan-in-backward
# kind: error
# line: 5
# source: written for the test suite
# %% setup
import torch
torch.manual_seed(0)
anchors = torch.randn(6, 3) * 0.3
anchors[2] = 0.0

def row_lengths(v):
    return torch.sqrt((v ** 2).sum(-1))
# %% cell
shift = torch.zeros(6, 3, requires_grad=True)
opt = torch.optim.SGD([shift], lr=0.1)
with torch.autograd.detect_anomaly():
    for step in range(3):
        lengths = row_lengths(anchors + shift)
        over = torch.relu(lengths - 2.0)
        loss = over.pow(2).mean() + 0.01 * shift.pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
print(loss.item())
