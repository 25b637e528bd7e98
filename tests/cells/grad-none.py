# pitfall: grad-none
# kind: error
# line: 1
# source: linear regression from scratch: the weights are scaled after requires_grad was set
# %% setup
import torch
torch.manual_seed(0)
X = torch.randn(100, 8)
y = X @ torch.randn(8, 1) + 0.1 * torch.randn(100, 1)
lr = 0.1
# %% cell
w = torch.randn(8, 1, requires_grad=True) * 0.01
b = torch.zeros(1, requires_grad=True)
for step in range(20):
    loss = ((X @ w + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    w.grad.zero_()
    b.grad.zero_()
print(loss.item())
