# pitfall: index-out-of-bounds
# kind: error
# line: 2, 3
# source: item ids numbered from 1 in the ratings file, embedding sized by the number of items
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
ratings = [(1, 3, 4.0), (2, 1, 5.0), (1, 5, 2.0), (3, 5, 3.5), (3, 2, 4.5)]   # (user, item, stars)
# %% cell
users, items, stars = map(torch.tensor, zip(*ratings))
n_users, n_items = len(set(users.tolist())), len(set(items.tolist()))
user_emb, item_emb = nn.Embedding(n_users, 8), nn.Embedding(n_items, 8)
pred = (user_emb(users) * item_emb(items)).sum(dim=1)
loss = nn.functional.mse_loss(pred, stars)
print(loss.item())
