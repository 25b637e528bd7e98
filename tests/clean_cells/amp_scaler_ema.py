# pitfall: none
# kind: clean
# line: 0
# source: a GradScaler training step with an exponential moving average copy used for evaluation
# %% setup
import copy
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
batches = [(torch.randn(8, 10), torch.randint(0, 4, (8,))) for _ in range(4)]
# %% cell
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 4))
ema = copy.deepcopy(model).eval()
ema.requires_grad_(False)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
scaler = torch.amp.GradScaler("cpu", enabled=False)
model.train()
for x, y in batches:
    with torch.autocast("cpu", enabled=False):
        loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    with torch.no_grad():
        for ema_p, p in zip(ema.parameters(), model.parameters()):
            ema_p.mul_(0.99).add_(p.detach(), alpha=0.01)
with torch.inference_mode():
    print(ema(batches[0][0]).argmax(1))
