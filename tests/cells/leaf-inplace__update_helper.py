# pitfall: leaf-inplace
# kind: error
# line: 7
# source: written for the test suite
# cause: a helper from a setup cell updates the weights in place without turning autograd off
# %% setup
import torch
torch.manual_seed(0)
def sgd_update(params, lr):
    for p in params:
        p -= lr * p.grad
        p.grad = None
# %% cell
w = torch.randn(3, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
x = torch.randn(20, 3)
y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
for step in range(5):
    ((x @ w + b - y) ** 2).mean().backward()
    sgd_update([w, b], lr=0.1)
