# pitfall: none
# kind: clean
# line: 0
# source: a regression head trained with MSE on predictions and labels of the same shape
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
features = torch.randn(32, 48)
scores = torch.rand(32, 1) * 5
# %% cell
head = nn.Linear(48, 1)
loss_fn = nn.MSELoss()
optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
history = []
for step in range(10):
    pred = head(features)
    loss = loss_fn(pred, scores)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    history.append(loss.item())
print(pred.shape, scores.shape, history[-1])
