# pitfall: none
# kind: clean
# line: 0
# source: a table one row larger for a pad id past the vocabulary
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
vocab_size = 1000
pad_token_id = 1000
emb = nn.Embedding(vocab_size + 1, 32, padding_idx=pad_token_id)
print(emb)
