# pitfall: loss-target-dtype
# kind: error
# line: 1, 5
# source: multi-label tagging: sigmoid outputs with a multi-hot target built as an integer tensor
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
photos = torch.randn(8, 64)
tag_lists = [[0, 3], [1], [2, 4], [0], [3, 4], [1, 2], [4], [0, 1]]
# %% cell
targets = torch.zeros(8, 5, dtype=torch.long)
for i, tags in enumerate(tag_lists):
    targets[i, tags] = 1
tagger = nn.Sequential(nn.Linear(64, 5), nn.Sigmoid())
loss = nn.BCELoss()(tagger(photos), targets)
print(loss.item())
