# pitfall: ddp-unused-parameters
# kind: error
# line: 9
# source: a model with an auxiliary head that the loss does not use, wrapped in DDP (one-process gloo group)
# %% setup
import tempfile
import torch
import torch.nn as nn
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
if not dist.is_initialized():
    dist.init_process_group("gloo", init_method="file://" + tempfile.mktemp(), rank=0, world_size=1)
# %% cell
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(8, 8)
        self.aux = nn.Linear(8, 2)
    def forward(self, x):
        return self.body(x)

model = DDP(TwoHeads())
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(2):
    opt.zero_grad()
    loss = model(torch.randn(4, 8)).sum()
    loss.backward()
    opt.step()
