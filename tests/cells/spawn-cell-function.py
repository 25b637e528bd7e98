# pitfall: spawn-cell-function
# kind: error
# line: 6
# source: the DDP tutorial's mp.spawn(train, ...) pasted into a notebook
# %% setup
import torch
import torch.multiprocessing as mp
# %% cell
def train(rank, world_size):
    x = torch.ones(2) * rank
    print(rank, world_size, x.sum().item())

if __name__ == "__main__":
    mp.spawn(train, args=(1,), nprocs=1, join=True)
