# pitfall: none
# kind: clean
# line: 0
# source: gradient accumulation with GradScaler: unscale, clip, step and update only on stepping iterations
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
batches = [(torch.randn(8, 4), torch.randn(8, 1)) for _ in range(4)]
# %% cell
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
scaler = torch.amp.GradScaler("cpu")
accumulate = 2
for step, (x, y) in enumerate(batches):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.mse_loss(model(x), y) / accumulate
    scaler.scale(loss).backward()
    if (step + 1) % accumulate != 0:
        continue
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
print(round(loss.item(), 4))
