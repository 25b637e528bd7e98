# pitfall: ddp-batchnorm-not-synced
# kind: silent
# shape: function
# line: 4
# source: written for the test suite
# %% setup
import tempfile
import torch
import torch.nn as nn
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
if not dist.is_initialized():
    dist.init_process_group("gloo", init_method="file://" + tempfile.mktemp(), rank=0, world_size=1)
# %% cell
def wrap_for_training(width=6):
    body = nn.Sequential(nn.Conv1d(2, width, 5), nn.BatchNorm1d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(width, 3))
    return DistributedDataParallel(body)

ecg_model = wrap_for_training()
signals = torch.randn(4, 2, 50)
ecg_model(signals).sum().backward()
