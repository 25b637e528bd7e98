# pitfall: checkpoint-every-rank
# kind: silent
# shape: function
# line: 9
# source: written for the test suite
# %% setup
import os
import tempfile
import torch
import torch.nn as nn
import torch.distributed as dist
runs = tempfile.mkdtemp()
# %% cell
def train_and_keep(model, steps=2):
    if not dist.is_initialized():
        dist.init_process_group("gloo", init_method="file://" + os.path.join(runs, "rendezvous"), rank=0, world_size=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(steps):
        optimizer.zero_grad()
        model(torch.randn(4, 3)).sum().backward()
        optimizer.step()
        torch.save({"step": step, "weights": model.state_dict()}, os.path.join(runs, "last.pt"))

train_and_keep(nn.Linear(3, 1))
