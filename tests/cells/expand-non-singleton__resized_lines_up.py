# pitfall: expand-non-singleton
# kind: error
# line: 2
# source: written for the test suite
# cause: a value made lines up: the feature map upsampled, its attention weights left at the old size
# %% setup
import torch
import torch.nn.functional as F
torch.manual_seed(0)
features = torch.randn(2, 16, 8, 8)
# %% cell
attention = torch.sigmoid(features.mean(dim=1, keepdim=True))
upsampled = F.interpolate(features, scale_factor=2, mode="nearest")
refined = upsampled + 0.1 * torch.randn_like(upsampled)
gate = attention.expand(-1, 16, -1, -1)
gate = gate.expand_as(refined)
print((refined * gate).shape)
