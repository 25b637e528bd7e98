# pitfall: tuple-output-as-tensor
# kind: error
# line: 7
# source: a tagger that passes the LSTM's whole (output, state) tuple to its linear head
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
        h = self.lstm(x)
        return self.out(h)
tagger = Tagger()
scores = tagger(torch.randn(2, 5, 8))
