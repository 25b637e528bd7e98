# pitfall: none
# kind: clean
# line: 0
# source: the lengths of a batch kept on the CPU while the tokens go to the GPU
# requires: cuda
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
from torch.nn.utils.rnn import pack_padded_sequence
emb = nn.Embedding(20, 4).cuda()
lengths = torch.tensor([5, 3])
# %% cell
tokens = torch.randint(0, 20, (2, 5)).cuda()
packed = pack_padded_sequence(emb(tokens), lengths, batch_first=True)
print(packed.data.shape)
