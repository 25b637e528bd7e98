# pitfall: tensor-aliasing
# kind: silent
# line: 11
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(24)
pairs, same = torch.randn(16, 2, 8), torch.randint(0, 2, (16,)).float()
val_pairs, val_same = torch.randn(32, 2, 8), torch.randint(0, 2, (32,)).float()

def snapshot(model):
    return {name: p.detach() for name, p in model.named_parameters()}
# %% cell
siamese = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 8))
opt = torch.optim.Adam(siamese.parameters(), lr=0.05)
best, best_state = float("inf"), None
for epoch in range(6):
    loss = F.binary_cross_entropy_with_logits((siamese(pairs[:, 0]) * siamese(pairs[:, 1])).sum(1), same)
    opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        val = F.binary_cross_entropy_with_logits((siamese(val_pairs[:, 0]) * siamese(val_pairs[:, 1])).sum(1), val_same)
    if val.item() < best:
        best = val.item()
        best_state = snapshot(siamese)
siamese.load_state_dict(best_state)
