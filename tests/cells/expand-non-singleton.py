# pitfall: expand-non-singleton
# kind: error
# line: 3
# source: normalising an image with ImageNet channel statistics by expanding the mean
# %% setup
import torch
torch.manual_seed(0)
photo = torch.rand(3, 224, 224)
# %% cell
mean = torch.tensor([0.485, 0.456, 0.406])
std = torch.tensor([0.229, 0.224, 0.225])
normalised = (photo - mean.expand(3, 224, 224)) / std.expand(3, 224, 224)
print(normalised.mean(dim=(1, 2)))
