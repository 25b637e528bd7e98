# pitfall: batchnorm-dim-mismatch
# kind: error
# line: 1
# source: BatchNorm2d after a Conv1d in an audio network
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
audio_net = nn.Sequential(nn.Conv1d(1, 16, 9, padding=4), nn.BatchNorm2d(16), nn.ReLU())
wave = torch.randn(8, 1, 400)
feats = audio_net(wave)
print(feats.shape)
