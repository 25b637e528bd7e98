# pitfall: functional-dropout-training
# kind: silent
# line: 1, 4
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(11)

class CharTagger(nn.Module):
    def __init__(self, vocab=40, dim=24, tags=6):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = nn.GRU(dim, dim, batch_first=True)
        self.out = nn.Linear(dim, tags)

    def forward(self, chars):
        h, _ = self.rnn(F.dropout(self.embed(chars), p=0.25))
        return self.out(h)
# %% cell
tagger = CharTagger()
tagger.eval()
with torch.no_grad():
    tags = tagger(torch.randint(0, 40, (2, 9))).argmax(-1)
print(tags.tolist())
