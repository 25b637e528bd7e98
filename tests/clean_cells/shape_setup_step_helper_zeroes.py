# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(31)
ratings_u, ratings_i = torch.randint(0, 30, (96,)), torch.randint(0, 40, (96,))
ratings_r = torch.rand(96) * 5

class DotRecommender(nn.Module):
    def __init__(self):
        super().__init__()
        self.u, self.i = nn.Embedding(30, 6), nn.Embedding(40, 6)

    def forward(self, u, i):
        return (self.u(u) * self.i(i)).sum(-1)

def update(model, optimizer, u, i, r):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(u, i), r)
    loss.backward()
    optimizer.step()
    return loss.item()
# %% cell
rec = DotRecommender()
opt = torch.optim.SGD(rec.parameters(), lr=0.05)
epoch_losses = []
for epoch in range(3):
    total = 0.0
    for s in range(0, 96, 32):
        total += update(rec, opt, ratings_u[s:s + 32], ratings_i[s:s + 32], ratings_r[s:s + 32])
    epoch_losses.append(total / 3)
print([round(v, 3) for v in epoch_losses])
