# pitfall: none
# kind: clean
# line: 0
# source: a notebook run on one device: rank 0 of 1 and a shuffling loader instead of a distributed sampler
# %% setup
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, TensorDataset
# %% cell
distributed = dist.is_available() and dist.is_initialized()
rank = dist.get_rank() if distributed else 0
world = dist.get_world_size() if distributed else 1
loader = DataLoader(TensorDataset(torch.randn(16, 3)), batch_size=4, shuffle=True)
print(f"process {rank} of {world}, {len(loader)} batches")
