# pitfall: none
# kind: clean
# line: 0
# source: an evaluation helper decorated with torch.no_grad() that switches the model to eval mode
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
val_batches = [(torch.randn(8, 6), torch.randint(0, 2, (8,))) for _ in range(3)]
train_batches = [(torch.randn(8, 6), torch.randint(0, 2, (8,))) for _ in range(3)]
# %% cell
@torch.no_grad()
def evaluate(net, batches):
    net.eval()
    correct = total = 0
    for xb, yb in batches:
        correct += (net(xb).argmax(1) == yb).sum().item()
        total += len(yb)
    return correct / total


model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    model.train()
    for xb, yb in train_batches:
        optimizer.zero_grad()
        criterion(model(xb), yb).backward()
        optimizer.step()
    print(epoch, evaluate(model, val_batches))
