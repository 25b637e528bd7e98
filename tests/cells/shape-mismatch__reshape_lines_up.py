# pitfall: shape-mismatch
# kind: error
# line: 2
# source: written for the test suite
# cause: a value made lines up: patches reshaped with the patch and channel axes swapped, then embedded
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
images = torch.rand(2, 3, 16, 16)
# %% cell
patches = images.unfold(2, 4, 4).unfold(3, 4, 4)
patches = patches.reshape(2, 3 * 16, 16)
patch_embed = nn.Linear(3 * 4 * 4, 32)
position = torch.zeros(1, 16, 32)
tokens = patch_embed(patches) + position
print(tokens.shape)
