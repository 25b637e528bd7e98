# pitfall: distributed-sampler-epoch
# kind: silent
# shape: top
# line: 2
# source: DDP tutorials' loop without sampler.set_epoch: the same shuffle in every epoch
# %% setup
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler
dataset = TensorDataset(torch.arange(16.0).unsqueeze(1))
# %% cell
# rank 0 of 2, given explicitly: no process group is needed to build the sampler
sampler = DistributedSampler(dataset, num_replicas=2, rank=0, shuffle=True)
loader = DataLoader(dataset, batch_size=4, sampler=sampler)
seen = []
for epoch in range(3):
    for (xb,) in loader:
        seen.append(xb.sum().item())
