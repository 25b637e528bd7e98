# pitfall: target-out-of-range
# kind: error
# line: 2, 4
# source: segmentation masks whose object borders are 255 ("ignore"), as in Pascal VOC
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
photos = torch.randn(2, 3, 32, 32)
masks = torch.randint(0, 21, (2, 32, 32))
masks[:, 10:12, :] = 255                       # object borders
# %% cell
segmenter = nn.Conv2d(3, 21, 3, padding=1)
criterion = nn.CrossEntropyLoss()
scores = segmenter(photos)
loss = criterion(scores, masks)
