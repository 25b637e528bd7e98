# pitfall: loss-target-shape
# kind: error
# line: 4
# source: a part-of-speech tagger whose scores come out (batch, length, tags) from a batch_first LSTM
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
emb, lstm, proj = nn.Embedding(50, 16), nn.LSTM(16, 32, batch_first=True), nn.Linear(32, 7)
tokens, tags = torch.randint(0, 50, (4, 9)), torch.randint(0, 7, (4, 9))
# %% cell
hidden, _ = lstm(emb(tokens))
tag_scores = proj(hidden)
print(tag_scores.shape)
loss = F.cross_entropy(tag_scores, tags)
