# pitfall: rnn-input-size
# kind: error
# line: 3
# source: a GRU built for 128 features after a 100-wide embedding
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
vocab, emb_dim = 50, 100
embed = nn.Embedding(vocab, emb_dim)
rnn = nn.GRU(128, 64, batch_first=True)
tokens = torch.randint(0, vocab, (2, 9))
out, h = rnn(embed(tokens))
print(out.shape)
