# pitfall: index-out-of-bounds
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
torch.manual_seed(0)
N_TAGS = 4
sentences = [(torch.randn(n, 6), torch.randint(0, N_TAGS, (n,))) for n in (5, 3, 4, 6, 2, 5)]

def pad_tagged(batch):
    width = max(len(tags) for _, tags in batch)
    feats = torch.zeros(len(batch), width, 6)
    tags = torch.full((len(batch), width), -100, dtype=torch.long)
    for j, (f, t) in enumerate(batch):
        feats[j, :len(t)] = f
        tags[j, :len(t)] = t
    return feats, tags

class Tagger(nn.Module):
    def __init__(self, n_tags):
        super().__init__()
        self.emit = nn.Linear(6, n_tags)
        self.trans = nn.Parameter(torch.zeros(n_tags, n_tags))

    def loss(self, feats, tags):
        emissions = self.emit(feats)
        emission_loss = F.cross_entropy(emissions.transpose(1, 2), tags)
        transition = 0.0
        for i in range(1, tags.size(1)):
            transition = transition + self.trans[tags[:, i - 1], tags[:, i]].sum()
        return emission_loss - transition / tags.size(0)
# %% cell
loader = DataLoader(sentences, batch_size=3, shuffle=True, collate_fn=pad_tagged)
tagger = Tagger(N_TAGS)
opt = torch.optim.SGD(tagger.parameters(), lr=0.1)
for epoch in range(2):
    for feats, tags in loader:
        loss = tagger.loss(feats, tags)
        opt.zero_grad()
        loss.backward()
        opt.step()
print(loss.item())
