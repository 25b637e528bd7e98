# pitfall: grad-none
# kind: error
# line: 6
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
faces, ids = torch.randn(24, 10), torch.randint(0, 3, (24,))

class CenterLoss(nn.Module):
    def __init__(self, n_classes, dim):
        super().__init__()
        self.centers = nn.Parameter(torch.randn(n_classes, dim))

    def forward(self, feats, labels):
        c = self.centers.detach()[labels]
        return ((feats - c) ** 2).sum(dim=1).mean()
# %% cell
embed = nn.Linear(10, 4)
criterion = CenterLoss(3, 4)
opt = torch.optim.SGD(list(embed.parameters()) + list(criterion.parameters()), lr=0.1)
for step in range(2):
    feats = embed(faces)
    loss = criterion(feats, ids)
    opt.zero_grad()
    loss.backward()
    for p in criterion.parameters():
        p.grad.data *= 0.5
    opt.step()
print(loss.item())
