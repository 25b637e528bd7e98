# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a value made lines up: the attention map upsampled along with the features before the expand
# %% setup
import torch
import torch.nn.functional as F
torch.manual_seed(0)
features = torch.randn(2, 16, 8, 8)
# %% cell
attention = torch.sigmoid(features.mean(dim=1, keepdim=True))
upsampled = F.interpolate(features, scale_factor=2, mode="nearest")
attention = F.interpolate(attention, scale_factor=2, mode="nearest")
gate = attention.expand_as(upsampled)
print((upsampled * gate).shape)
