# pitfall: train-eval-mode
# kind: silent
# line: 2, 6, 7, 8, 10
# source: the validation helper switches to eval() and training never switches back
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x_tr, y_tr = torch.randn(200, 16), torch.randint(0, 3, (200,))
x_va, y_va = torch.randn(50, 16), torch.randint(0, 3, (50,))
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
# %% cell
def validate(m):
    m.eval()
    with torch.no_grad():
        return F.cross_entropy(m(x_va), y_va).item()

model.train()
for epoch in range(3):
    for i in range(0, 200, 50):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_tr[i:i + 50]), y_tr[i:i + 50])
        loss.backward()
        optimizer.step()
    print(epoch, loss.item(), validate(model))
