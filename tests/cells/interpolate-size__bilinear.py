# pitfall: interpolate-size
# kind: error
# line: 2, 3
# source: upsampling one predicted segmentation map back to the input resolution
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
scan = torch.randn(1, 3, 64, 64)
# %% cell
seg_head = nn.Conv2d(3, 4, kernel_size=3, stride=4, padding=1)
logits = seg_head(scan)[0]                       # (4, 16, 16) for the single scan
upsampled = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
mask = upsampled.argmax(dim=0)
print(mask.shape)
