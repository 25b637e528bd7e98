# pitfall: index-out-of-bounds
# kind: error
# line: 1, 2
# source: written for the test suite
# cause: a module constructor's size computed from the data: the largest id, not the number of ids
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
user_ids = torch.randint(0, 30, (200,))
user_ids[7] = 29
# %% cell
n_users = int(user_ids.max())
user_factors = nn.Embedding(n_users, 8)
item_factors = nn.Embedding(15, 8)
items = torch.randint(0, 15, (200,))
affinity = (user_factors(user_ids) * item_factors(items)).sum(-1)
print(affinity[:5])
