# pitfall: embedding-padding-idx
# kind: error
# line: 2, 3
# source: a pad id one past a tokenizer's vocabulary
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
vocab_size = 1000
pad_token_id = 1000
emb = nn.Embedding(vocab_size, 32, padding_idx=pad_token_id)
print(emb)
