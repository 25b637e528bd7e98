# pitfall: target-out-of-range
# kind: error
# line: 4
# source: a sequence tagger whose padding positions are marked -1, while cross_entropy ignores -100
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
tokens = torch.randint(1, 50, (4, 12))
tokens[:, 9:] = 0                                # padding
tags = torch.randint(0, 5, (4, 12))
# %% cell
tagger = nn.Sequential(nn.Embedding(50, 16), nn.Linear(16, 5))
logits = tagger(tokens)
targets = tags.clone()
targets[tokens == 0] = -1
loss = F.cross_entropy(logits.reshape(-1, 5), targets.reshape(-1))
