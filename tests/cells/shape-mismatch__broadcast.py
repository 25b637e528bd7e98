# pitfall: shape-mismatch
# kind: error
# line: 2, 4
# source: learned positional embeddings sized for a shorter context than the batch's sequences
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
token_ids = torch.randint(0, 1000, (4, 80))
# %% cell
d_model, max_len = 32, 64
tok_emb = nn.Embedding(1000, d_model)
pos_emb = nn.Parameter(torch.zeros(1, max_len, d_model))
h = tok_emb(token_ids) + pos_emb
encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model, 4, batch_first=True), num_layers=1)
print(encoder(h).shape)
