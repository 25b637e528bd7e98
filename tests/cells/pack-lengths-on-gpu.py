# pitfall: pack-lengths-on-gpu
# kind: error
# line: 2
# source: the lengths of a batch moved to the GPU with the tokens, then packed
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
lengths = lengths.cuda()
packed = pack_padded_sequence(emb(tokens), lengths, batch_first=True)
print(packed.data.shape)
