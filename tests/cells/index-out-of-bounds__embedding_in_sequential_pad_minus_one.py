# pitfall: index-out-of-bounds
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
reviews = [[4, 8, 15], [16, 23], [42, 7, 9, 11], [3]]
stars = torch.tensor([1, 0, 1, 0])

def pad_ids(seqs):
    width = max(len(s) for s in seqs)
    return torch.tensor([s + [-1] * (width - len(s)) for s in seqs])

class MeanOverTokens(nn.Module):
    def forward(self, x):
        return x.mean(dim=1)
# %% cell
ids = pad_ids(reviews)
clf = nn.Sequential(nn.Embedding(50, 8), MeanOverTokens(), nn.Linear(8, 2))
opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
for step in range(3):
    logits = clf(ids)
    loss = nn.functional.cross_entropy(logits, stars)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(loss.item())
