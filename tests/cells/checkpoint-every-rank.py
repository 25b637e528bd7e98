# pitfall: checkpoint-every-rank
# kind: silent
# shape: top
# line: 11
# source: DDP scripts that save the checkpoint after every epoch in every rank
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
    dist.barrier()
    torch.save(model.state_dict(), os.path.join(folder, "checkpoint.pt"))
