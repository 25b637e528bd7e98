# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(40)
sales = torch.randn(160, 6)
demand = torch.randn(160, 1)

def fit_fold(fold, results):
    net = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    keep = torch.arange(160) % 4 != fold
    for _ in range(6):
        loss = nn.functional.mse_loss(net(sales[keep]), demand[keep])
        opt.zero_grad(); loss.backward(); opt.step()
    results[fold] = loss.item()
# %% cell
from concurrent.futures import ThreadPoolExecutor
torch.set_num_threads(1)
fold_losses = {}
with ThreadPoolExecutor(max_workers=4) as pool:
    for fold in range(4):
        pool.submit(fit_fold, fold, fold_losses)
print(sorted(fold_losses))
