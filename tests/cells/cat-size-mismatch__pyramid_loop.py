# pitfall: cat-size-mismatch
# kind: error
# line: 3
# source: written for the test suite
# cause: a list of tensors built in a loop: each pooled at another scale, never brought back to one size
# %% setup
import torch
import torch.nn.functional as F
torch.manual_seed(0)
feature_map = torch.randn(2, 8, 16, 16)
# %% cell
pooled = []
for scale in (1, 2, 4):
    level = F.avg_pool2d(feature_map, kernel_size=scale)
    pooled.append(level)
pyramid = torch.cat(pooled, dim=1)
print(pyramid.shape)
