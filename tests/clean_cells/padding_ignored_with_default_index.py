# pitfall: none
# kind: clean
# line: 0
# source: padding marked with -100, which cross_entropy ignores by default
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
tokens = torch.randint(1, 50, (4, 12))
tokens[:, 9:] = 0
tags = torch.randint(0, 5, (4, 12))
# %% cell
tagger = nn.Sequential(nn.Embedding(50, 16), nn.Linear(16, 5))
logits = tagger(tokens)
targets = tags.clone()
targets[tokens == 0] = -100
loss = F.cross_entropy(logits.reshape(-1, 5), targets.reshape(-1))
