# pitfall: target-out-of-range
# kind: error
# line: 7, 8
# source: a segmentation mask whose object borders are marked 255 ("void"), as in PASCAL VOC
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
images = torch.randn(2, 3, 32, 32)
masks = torch.randint(0, 21, (2, 32, 32))
masks[:, 10, :] = 255                          # void pixels along object borders
# %% cell
segmenter = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
    nn.Conv2d(16, 21, 1),
)
optimizer = torch.optim.Adam(segmenter.parameters(), lr=1e-3)
logits = segmenter(images)
criterion = nn.CrossEntropyLoss()
loss = criterion(logits, masks)
optimizer.zero_grad()
loss.backward()
optimizer.step()
