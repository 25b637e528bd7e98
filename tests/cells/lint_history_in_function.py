# pitfall: history-accumulation
# kind: silent
# line: 8
# source: an epoch function that adds the loss tensor to its statistics
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
loader = [(torch.randn(8, 6), torch.randn(8, 1)) for _ in range(5)]
# %% cell
def train_epoch(model, loader, optimizer):
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss
    print("epoch loss", float(total))

net = nn.Linear(6, 1)
train_epoch(net, loader, torch.optim.SGD(net.parameters(), lr=0.1))
