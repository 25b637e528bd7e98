# pitfall: none
# kind: clean
# line: 0
# source: a DistributedSampler told the epoch at the start of every epoch
# %% setup
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler
dataset = TensorDataset(torch.arange(16.0).unsqueeze(1))
# %% cell
sampler = DistributedSampler(dataset, num_replicas=2, rank=0, shuffle=True)
loader = DataLoader(dataset, batch_size=4, sampler=sampler)
seen = []
for epoch in range(3):
    sampler.set_epoch(epoch)
    for (xb,) in loader:
        seen.append(xb.sum().item())
