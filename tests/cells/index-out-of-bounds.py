# pitfall: index-out-of-bounds
# kind: error
# line: 5
# source: taking the GRU output at the last real token of each padded sequence
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
padded = torch.randn(4, 9, 16)                 # (batch, max_len, features)
lengths = torch.tensor([9, 5, 7, 3])
# %% cell
gru = nn.GRU(16, 32, batch_first=True)
head = nn.Linear(32, 2)
outputs, _ = gru(padded)
batch_idx = torch.arange(outputs.size(0))
last_states = outputs[batch_idx, lengths]
print(head(last_states).shape)
