# pitfall: half-float-mix
# kind: error
# line: 5
# source: a bfloat16 convolutional backbone feeding a classifier head left in float32
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()).to(torch.bfloat16)
head = nn.Linear(8, 2)
images = torch.randn(4, 3, 16, 16, dtype=torch.bfloat16)
features = backbone(images).mean(dim=(2, 3))
logits = head(features)
