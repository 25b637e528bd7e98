# pitfall: grad-accumulation
# kind: silent
# line: 5
# source: hand-written gradient descent that never clears w.grad
# shape: top
# %% setup
import torch
torch.manual_seed(0)
X, y = torch.randn(64, 3), torch.randn(64, 1)
# %% cell
w = torch.zeros(3, 1, requires_grad=True)
lr = 0.05
for step in range(20):
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
print(loss.item())
