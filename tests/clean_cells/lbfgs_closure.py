# pitfall: none
# kind: clean
# line: 0
# source: L-BFGS with a closure that zeroes the gradients itself
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
X, y = torch.randn(50, 3), torch.randn(50, 1)
# %% cell
model = nn.Linear(3, 1)
optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5)


def closure():
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    return loss


for step in range(3):
    loss = optimizer.step(closure)
print(float(loss))
