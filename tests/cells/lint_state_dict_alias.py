# pitfall: tensor-aliasing
# kind: silent
# line: 13
# source: "best" weights saved as model.state_dict() without a copy
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x, y = torch.randn(64, 5), torch.randint(0, 2, (64,))
# %% cell
model = nn.Linear(5, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
best_loss, best_state = float("inf"), None
for epoch in range(5):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        val = F.cross_entropy(model(x), y).item()
    if val < best_loss:
        best_loss = val
        best_state = model.state_dict()
model.load_state_dict(best_state)
