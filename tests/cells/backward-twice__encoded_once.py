# pitfall: backward-twice
# kind: error
# line: 4
# source: fine-tuning a classifier head on top of features computed once before the loop
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
token_ids = torch.randint(0, 100, (32, 12))
labels = torch.randint(0, 3, (32,))
# %% cell
embed = nn.Embedding(100, 16)
head = nn.Linear(16, 3)
opt = torch.optim.SGD(list(embed.parameters()) + list(head.parameters()), lr=0.1)
sentence_vecs = embed(token_ids).mean(dim=1)
for epoch in range(4):
    opt.zero_grad()
    loss = F.cross_entropy(head(sentence_vecs), labels)
    loss.backward()
    opt.step()
    print(epoch, loss.item())
