# pitfall: feature-map-too-small
# kind: error
# line: 2
# source: an ImageNet-sized global pooling on the 4 x 4 maps of 32 x 32 images
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
backbone = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=4, padding=1))
head = nn.Sequential(nn.AvgPool2d(7), nn.Flatten(), nn.Linear(32, 10))
images = torch.randn(2, 3, 32, 32)
logits = head(backbone(images))
print(logits.shape)
