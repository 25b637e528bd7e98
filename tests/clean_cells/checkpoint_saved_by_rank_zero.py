# pitfall: none
# kind: clean
# line: 0
# source: the DDP tutorial's checkpoint: saved by rank 0, the others wait at a barrier
# %% setup
import os
import tempfile
import torch
import torch.nn as nn
import torch.distributed as dist
folder = tempfile.mkdtemp()
# %% cell
if not dist.is_initialized():
    dist.init_process_group("gloo", init_method="file://" + os.path.join(folder, "init"), rank=0, world_size=1)
model = nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    opt.zero_grad()
    loss = model(torch.randn(8, 4)).pow(2).mean()
    loss.backward()
    opt.step()
    if dist.get_rank() == 0:
        torch.save(model.state_dict(), os.path.join(folder, "checkpoint.pt"))
    dist.barrier()
