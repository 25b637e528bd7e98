# pitfall: index-out-of-bounds
# kind: error
# line: 2, 4, 5, 7
# requires: cuda
# source: learned positional embedding sized for 128 tokens, fed 200-token sequences on the GPU ("device-side assert triggered" surfaces later)
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
vocab_size = 5000
batch_ids = torch.randint(0, vocab_size, (8, 200))    # tokenised abstracts, 200 tokens each
# %% cell
device = torch.device("cuda")
max_len = 128
tok_emb = nn.Embedding(vocab_size, 64).to(device)
pos_emb = nn.Embedding(max_len, 64).to(device)
ids = batch_ids.to(device)
positions = torch.arange(ids.size(1), device=device)
h = tok_emb(ids) + pos_emb(positions)
print(h.mean().item())
