# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
torch.manual_seed(41)
dataset = TensorDataset(torch.randn(64, 5), torch.randn(64, 1))
# %% cell
sampler = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=41)
loader = DataLoader(dataset, batch_size=16, sampler=sampler)
model = nn.Linear(5, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for epoch in range(3):
    sampler.set_epoch(epoch)
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    print(epoch, round(total, 4))
