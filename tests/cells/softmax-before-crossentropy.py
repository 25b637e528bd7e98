# pitfall: softmax-before-crossentropy
# kind: silent
# line: 5, 11
# source: a Keras-style classifier that ends in a Softmax layer, trained with CrossEntropyLoss
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
pixels = torch.rand(256, 64)
digits = torch.randint(0, 10, (256,))
# %% cell
model = nn.Sequential(
    nn.Linear(64, 128),
    nn.ReLU(),
    nn.Linear(128, 10),
    nn.Softmax(dim=1),
)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for epoch in range(5):
    optimizer.zero_grad()
    loss = loss_fn(model(pixels), digits)
    loss.backward()
    optimizer.step()
    print(epoch, round(loss.item(), 4))
