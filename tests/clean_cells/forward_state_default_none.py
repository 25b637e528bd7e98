# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a function parameter: forward's initial state defaults to None and is made for the batch given
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
# %% cell
class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(10, 16, batch_first=True)
        self.out = nn.Linear(16, 10)
    def forward(self, x, state=None):
        if state is None:
            state = torch.zeros(1, x.shape[0], 16)
        seq, state = self.rnn(x, state)
        return self.out(seq), state

def box_loss(pred, target, reduction="mean"):
    return F.smooth_l1_loss(pred, target, reduction=reduction)

chars = CharModel()
opt = torch.optim.Adam(chars.parameters())
logits, _ = chars(torch.randn(4, 12, 10))
opt.zero_grad()
loss = box_loss(logits, torch.randn(4, 12, 10))
loss.backward()
opt.step()
