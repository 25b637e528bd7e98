# pitfall: train-eval-mode
# kind: silent
# line: 8, 12
# source: validation calls eval() each epoch and training never switches back with train()
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
train_batches = [(torch.randn(8, 6), torch.randint(0, 2, (8,))) for _ in range(3)]
val_batches = [(torch.randn(8, 6), torch.randint(0, 2, (8,))) for _ in range(2)]
# %% cell
def validate(net):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in val_batches)

model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model.train()
for epoch in range(3):
    for x, y in train_batches:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    print(epoch, validate(model))
