# pitfall: gradscaler-unscale-twice
# kind: error
# line: 12
# source: gradient accumulation that skips the update with continue after unscale_ for clipping
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
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    if (step + 1) % accumulate != 0:
        continue
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
