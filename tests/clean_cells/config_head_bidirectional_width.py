# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a module constructor's sizes from a config dict: the head takes the bidirectional GRU's doubled width
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
config = {"vocab": 50, "embed": 16, "hidden": 32, "classes": 4}
# %% cell
class Tagger(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed = nn.Embedding(cfg["vocab"], cfg["embed"])
        self.rnn = nn.GRU(cfg["embed"], cfg["hidden"], batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * cfg["hidden"], cfg["classes"])
    def forward(self, ids):
        states, _ = self.rnn(self.embed(ids))
        return self.head(states)

tagger = Tagger(config)
opt = torch.optim.Adam(tagger.parameters())
tags = torch.randint(0, 4, (2, 7))
opt.zero_grad()
loss = nn.functional.cross_entropy(tagger(torch.randint(0, 50, (2, 7))).flatten(0, 1), tags.flatten())
loss.backward()
opt.step()
