# pitfall: none
# kind: clean
# line: 0
# source: a label column taken as a vector, and tagger scores with the classes moved to dimension 1
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
table = torch.cat([torch.randn(10, 4), torch.randint(0, 3, (10, 1)).float()], dim=1)
emb, lstm, proj = nn.Embedding(50, 16), nn.LSTM(16, 32, batch_first=True), nn.Linear(32, 7)
tokens, tags = torch.randint(0, 50, (4, 9)), torch.randint(0, 7, (4, 9))
# %% cell
features = table[:, :-1]
labels = table[:, -1].long()
clf = nn.Linear(4, 3)
loss = F.cross_entropy(clf(features), labels)
hidden, _ = lstm(emb(tokens))
tag_scores = proj(hidden)
tag_loss = F.cross_entropy(tag_scores.permute(0, 2, 1), tags)
print(loss.item(), tag_loss.item())
