# pitfall: rnn-hidden-shape
# kind: error
# line: 6
# source: written for the test suite
# cause: a default argument of forward: an initial state made once for a batch of one
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(10, 16, batch_first=True)
        self.out = nn.Linear(16, 10)
    def forward(self, x, state=torch.zeros(1, 1, 16)):
        seq, state = self.rnn(x, state)
        return self.out(seq), state

chars = CharModel()
logits, _ = chars(torch.randn(4, 12, 10))
print(logits.shape)
