# pitfall: index-dtype
# kind: error
# line: 2
# source: written for the test suite
# cause: a value made lines up: token ids scaled into a float tensor before an nn.Sequential that starts with an Embedding
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
raw_tokens = torch.randint(0, 1000, (4, 9))
# %% cell
vocab_size = 100
token_ids = raw_tokens % vocab_size * 1.0
encoder = nn.Sequential(nn.Embedding(vocab_size, 12), nn.Flatten(), nn.Linear(9 * 12, 3))
mask = token_ids > 0
scores = encoder(token_ids)
print(scores.shape, mask.sum())
