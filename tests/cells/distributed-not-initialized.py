# pitfall: distributed-not-initialized
# kind: error
# line: 1
# source: rank and world size read in a notebook, where no process group was started
# %% setup
import torch
import torch.distributed as dist
# %% cell
rank = dist.get_rank()
world = dist.get_world_size()
print(f"process {rank} of {world}")
