# pitfall: cpu-oversubscription
# kind: silent
# line: 3
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(1)
ratings = torch.randn(200, 12)
scores = torch.randn(200, 1)

def fit_fold(fold, results):
    net = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    keep = torch.arange(200) % 4 != fold
    for _ in range(8):
        loss = nn.functional.mse_loss(net(ratings[keep]), scores[keep])
        opt.zero_grad(); loss.backward(); opt.step()
    results[fold] = loss.item()
# %% cell
from concurrent.futures import ThreadPoolExecutor
fold_losses = {}
with ThreadPoolExecutor(max_workers=4) as pool:
    for fold in range(4):
        pool.submit(fit_fold, fold, fold_losses)
print(sorted(fold_losses))
