# pitfall: ddp-batchnorm-not-synced
# kind: silent
# shape: top
# line: 6
# source: a ConvNet with BatchNorm2d wrapped in DDP without SyncBatchNorm (one-process gloo group)
# %% setup
import tempfile
import torch
import torch.nn as nn
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
if not dist.is_initialized():
    dist.init_process_group("gloo", init_method="file://" + tempfile.mktemp(), rank=0, world_size=1)
# %% cell
net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
x = torch.randn(4, 3, 8, 8)
y = torch.tensor([0, 1, 0, 1])
model = DDP(net)
opt.zero_grad()
nn.functional.cross_entropy(model(x), y).backward()
opt.step()
