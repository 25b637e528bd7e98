# pitfall: index-dtype
# kind: error
# line: 1
# source: written for the test suite
# cause: a value made in a second, earlier cell: evenly spaced frame numbers left as floats
# %% setup
import torch
torch.manual_seed(0)
video = torch.rand(90, 3, 8, 8)
# %% setup
keyframes = torch.linspace(0, len(video) - 1, steps=6).round()
# %% cell
clip = video[keyframes]
print(clip.mean(dim=(1, 2, 3)))
