# pitfall: none
# kind: clean
# line: 0
# source: per-chunk losses summed into one tensor and backpropagated once after the loop
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
chunks = [(torch.randn(4, 6), torch.randn(4, 1)) for _ in range(3)]
# %% cell
model = nn.Linear(6, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    total = 0
    for x, y in chunks:
        total = total + nn.functional.mse_loss(model(x), y)
    mean_loss = total / len(chunks)
    optimizer.zero_grad()
    mean_loss.backward()
    optimizer.step()
print(mean_loss.item())
