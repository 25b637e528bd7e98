# pitfall: ragged-nested-list
# kind: error
# line: 3
# source: purchase histories of different lengths turned into one tensor
# %% setup
import torch
histories = {"ana": [12, 7, 7, 31], "ben": [4, 18], "chen": [9, 9, 2, 40]}
# %% cell
users = list(histories)
sequences = [histories[u] for u in users]
item_ids = torch.tensor(sequences)
print(item_ids.shape)
