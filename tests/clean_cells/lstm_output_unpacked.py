# pitfall: none
# kind: clean
# line: 0
# source: a tagger that unpacks the LSTM's (output, state) tuple
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.out = nn.Linear(16, 3)
    def forward(self, x):
        h, _ = self.lstm(x)
        return self.out(h)
tagger = Tagger()
scores = tagger(torch.randn(2, 5, 8))
print(scores.shape)
