# pitfall: non-scalar-item
# kind: error
# line: 4, 5
# source: logging a per-sample loss with float() for a progress bar
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
x, y = torch.randn(32, 5), torch.randint(0, 4, (32,))
# %% cell
model = nn.Linear(5, 4)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss(reduction="none")
losses = criterion(model(x), y)
running = 0.9 * 0.0 + 0.1 * float(losses)
optimizer.zero_grad()
losses.mean().backward()
optimizer.step()
print(running)
