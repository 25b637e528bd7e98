# pitfall: ambiguous-bool
# kind: error
# line: 4
# source: written for the test suite
# cause: a function parameter: the loss class, not an instance of it, passed down to the training helper
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
def fit(model, x, y, criterion, epochs=2):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(epochs):
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()
# %% cell
house_x = torch.randn(30, 5)
house_y = torch.randn(30, 1)
valuer = nn.Linear(5, 1)
final = fit(valuer, house_x, house_y, criterion=nn.MSELoss)
print(final)
