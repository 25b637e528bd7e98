# pitfall: none
# kind: clean
# line: 0
# source: a convolutional backbone and a classifier head run together under CPU autocast
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
head = nn.Linear(8, 2)
images = torch.randn(4, 3, 16, 16)
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
    features = backbone(images).mean(dim=(2, 3))
    logits = head(features)
print(logits.dtype, logits.shape)
