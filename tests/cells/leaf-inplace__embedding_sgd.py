# pitfall: leaf-inplace
# kind: error
# line: 10, 11
# source: matrix factorisation with hand-written sparse SGD updates
# %% setup
import torch
torch.manual_seed(0)
n_users, n_items, k = 50, 40, 8
users = torch.randint(0, n_users, (256,))
items = torch.randint(0, n_items, (256,))
ratings = torch.rand(256) * 4 + 1
# %% cell
U = torch.randn(n_users, k, requires_grad=True)
V = torch.randn(n_items, k, requires_grad=True)
lr = 0.05
for epoch in range(5):
    for start in range(0, 256, 64):
        u, i, r = users[start:start + 64], items[start:start + 64], ratings[start:start + 64]
        pred = (U[u] * V[i]).sum(dim=1)
        loss = ((pred - r) ** 2).mean()
        loss.backward()
        U[u] -= lr * U.grad[u]
        V[i] -= lr * V.grad[i]
        U.grad = None
        V.grad = None
    print(epoch, loss.item())
