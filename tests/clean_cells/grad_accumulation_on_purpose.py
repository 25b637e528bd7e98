# pitfall: none
# kind: clean
# line: 0
# source: gradient accumulation on purpose: a step and zero_grad every k micro-batches
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
batches = [(torch.randn(4, 10), torch.randn(4, 1)) for _ in range(8)]
# %% cell
model = nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
accum_steps = 4
optimizer.zero_grad()
for i, (x, y) in enumerate(batches):
    loss = nn.functional.mse_loss(model(x), y) / accum_steps
    loss.backward()
    if (i + 1) % accum_steps == 0:
        optimizer.step()
        optimizer.zero_grad()
print(loss.item())
