# pitfall: grad-accumulation
# kind: silent
# line: 5
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(12)
user_ids = torch.randint(0, 50, (128,))
item_ids = torch.randint(0, 80, (128,))
stars = torch.rand(128) * 5

class MatrixFactorisation(nn.Module):
    def __init__(self):
        super().__init__()
        self.users = nn.Embedding(50, 8)
        self.items = nn.Embedding(80, 8)

    def forward(self, u, i):
        return (self.users(u) * self.items(i)).sum(-1)

def update(model, optimizer, u, i, r):
    loss = nn.functional.mse_loss(model(u, i), r)
    loss.backward()
    optimizer.step()
    return loss.item()
# %% cell
recommender = MatrixFactorisation()
sgd = torch.optim.SGD(recommender.parameters(), lr=0.05)
for epoch in range(3):
    for s in range(0, 128, 32):
        mse = update(recommender, sgd, user_ids[s:s + 32], item_ids[s:s + 32], stars[s:s + 32])
    print(epoch, round(mse, 3))
