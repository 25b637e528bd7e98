# pitfall: shape-mismatch
# kind: error
# line: 6
# source: written for the test suite
# cause: a module constructor's sizes from a config dict: the head ignores the bidirectional GRU's doubled width
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
        self.head = nn.Linear(cfg["hidden"], cfg["classes"])
    def forward(self, ids):
        states, _ = self.rnn(self.embed(ids))
        return self.head(states)

tagger = Tagger(config)
print(tagger(torch.randint(0, 50, (2, 7))).shape)
