# pitfall: softmax-before-crossentropy
# kind: silent
# line: 1, 6
# source: a classifier that ends in nn.Softmax trained with CrossEntropyLoss
# shape: top
# %% setup
import torch
import torch.nn as nn
x, y = torch.randn(16, 10), torch.randint(0, 4, (16,))
# %% cell
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4), nn.Softmax(dim=1))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
