# pitfall: shape-mismatch
# kind: error
# line: 4
# source: written for the test suite
# cause: a python list of tensors built in a loop: one embedding matrix per sentence, each its own length
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
embed = nn.Embedding(40, 6)
sentences = [[4, 9, 12], [7, 3], [15, 2, 8, 30], [1, 5, 6]]
# %% cell
vectors = []
for tokens in sentences:
    ids = torch.tensor(tokens)
    vectors.append(embed(ids))
batch = torch.stack(vectors)
print(batch.shape)
