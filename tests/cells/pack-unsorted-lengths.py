# pitfall: pack-unsorted-lengths
# kind: error
# line: 2
# source: a list of sequences packed in the order the loader gave them
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
from torch.nn.utils.rnn import pack_sequence
gru = nn.GRU(3, 5)
# %% cell
seqs = [torch.randn(n, 3) for n in (2, 6, 4)]
packed = pack_sequence(seqs)
out, h = gru(packed)
print(h.shape)
