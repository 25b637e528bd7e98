# pitfall: none
# kind: clean
# line: 0
# source: a list of sequences packed with enforce_sorted=False
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
from torch.nn.utils.rnn import pack_sequence
gru = nn.GRU(3, 5)
# %% cell
seqs = [torch.randn(n, 3) for n in (2, 6, 4)]
packed = pack_sequence(seqs, enforce_sorted=False)
out, h = gru(packed)
print(h.shape)
