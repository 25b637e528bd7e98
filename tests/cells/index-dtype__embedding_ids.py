# pitfall: index-dtype
# kind: error
# line: 2
# source: item ids read from a float feature table and passed straight to an embedding
# %% setup
import numpy as np
import torch
import torch.nn as nn
interactions = np.array([[3, 0.5], [7, 1.0], [1, 0.0], [7, 0.25]])   # (item id, rating)
# %% cell
item_emb = nn.Embedding(10, 4)
item_ids = torch.tensor(interactions[:, 0])
ratings = torch.tensor(interactions[:, 1], dtype=torch.float32)
scores = (item_emb(item_ids) * item_emb.weight.mean(0)).sum(-1)
loss = ((scores - ratings) ** 2).mean()
