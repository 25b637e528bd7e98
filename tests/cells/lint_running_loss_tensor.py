# pitfall: history-accumulation
# kind: silent
# line: 10
# source: running loss summed as a tensor for logging
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
loader = [(torch.randn(8, 6), torch.randint(0, 3, (8,))) for _ in range(5)]
# %% cell
model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters())
running_loss = 0.0
for inputs, labels in loader:
    optimizer.zero_grad()
    loss = criterion(model(inputs), labels)
    loss.backward()
    optimizer.step()
    running_loss = running_loss + loss
print(f"mean loss {running_loss / len(loader)}")
