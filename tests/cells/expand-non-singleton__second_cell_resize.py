# pitfall: expand-non-singleton
# kind: error
# line: 2, 3
# source: written for the test suite
# cause: a value made in a second, earlier cell: the image was resized there, its mask was not
# %% setup
import torch
import torch.nn.functional as F
torch.manual_seed(0)
scan = torch.rand(1, 1, 40, 40)
lesion_mask = (torch.rand(1, 1, 40, 40) > 0.8).float()
# %% setup
scan = F.interpolate(scan, size=(64, 64), mode="bilinear", align_corners=False)
# %% cell
weights = torch.ones(1, 3, 1, 1)
image = scan.expand(-1, 3, -1, -1)
mask = lesion_mask.expand_as(image)
highlighted = image * (1 + mask * weights)
print(highlighted.shape)
