# pitfall: cuda-visible-devices
# kind: error
# line: 1
# requires: cuda
# source: a fine-tuning notebook written on a two-GPU server, opened on a single-GPU machine
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
reviews = torch.randn(16, 128)
# %% cell
device = torch.device("cuda:1")
classifier = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 2)).to(device)
print(classifier(reviews.to(device)).softmax(-1)[:3])
