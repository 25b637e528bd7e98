# pitfall: device-mismatch
# kind: error
# line: 9, 10
# requires: cuda
# source: a POS tagger whose initial LSTM state is built inside forward without a device
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
sentences = torch.randn(6, 12, 32)            # (batch, tokens, embedding)
tags = torch.randint(0, 17, (6, 12))
# %% cell
class Tagger(nn.Module):
    def __init__(self, emb=32, hidden=64, n_tags=17):
        super().__init__()
        self.hidden = hidden
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_tags)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(0), self.hidden)
        c0 = torch.zeros(1, x.size(0), self.hidden)
        y, _ = self.lstm(x, (h0, c0))
        return self.out(y)

device = torch.device("cuda")
tagger = Tagger().to(device)
scores = tagger(sentences.to(device))
loss = nn.functional.cross_entropy(scores.reshape(-1, 17), tags.to(device).reshape(-1))
print(loss.item())
