# pitfall: cuda-not-available
# kind: error
# line: 2
# requires: nocuda
# source: a notebook from a GPU server opened on a laptop: the device is fixed once at the top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
waveforms = torch.randn(8, 1, 400)
# %% cell
sample_rate = 16000
DEVICE = torch.device("cuda:0")
encoder = nn.Sequential(nn.Conv1d(1, 16, 9, stride=4), nn.GELU(), nn.AdaptiveAvgPool1d(1))
encoder.to(DEVICE)
codes = encoder(waveforms.to(DEVICE)).squeeze(-1)
