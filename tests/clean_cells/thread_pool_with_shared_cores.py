# pitfall: none
# kind: clean
# line: 0
# source: a learning-rate sweep in threads that first splits the cores between them
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(5)
inputs, labels = torch.randn(128, 8), torch.randint(0, 2, (128,))
# %% cell
import os
from concurrent.futures import ThreadPoolExecutor

rates = [0.3, 0.1, 0.03]
torch.set_num_threads(max(1, (os.cpu_count() or 1) // len(rates)))

def train(lr):
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(5):
        loss = nn.functional.cross_entropy(net(inputs), labels)
        opt.zero_grad(); loss.backward(); opt.step()
    return lr, round(loss.item(), 3)

with ThreadPoolExecutor(max_workers=len(rates)) as pool:
    print(list(pool.map(train, rates)))
