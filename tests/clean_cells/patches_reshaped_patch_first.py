# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a value made lines up: patches brought to (batch, patches, channels * pixels) before the patch embedding
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
images = torch.rand(2, 3, 16, 16)
# %% cell
patches = images.unfold(2, 4, 4).unfold(3, 4, 4)
patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(2, 16, 3 * 4 * 4)
patch_embed = nn.Linear(3 * 4 * 4, 32)
position = torch.zeros(1, 16, 32)
opt = torch.optim.SGD(patch_embed.parameters(), lr=0.1)
opt.zero_grad()
tokens = patch_embed(patches) + position
tokens.pow(2).mean().backward()
opt.step()
