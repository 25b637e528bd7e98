# pitfall: none
# kind: clean
# line: 0
# source: 1..5 star ratings shifted to 0..4 before one_hot, and padding kept out of the encoding
# %% setup
import numpy as np
import torch
import torch.nn.functional as F
ratings_np = np.array([5, 3, 4, 1, 2, 5])
tokens = torch.tensor([[3, 1, 4, 0], [2, 2, 0, 0]])
lengths = torch.tensor([4, 2])
# %% cell
ratings = torch.as_tensor(ratings_np) - 1
targets = F.one_hot(ratings, num_classes=5).float()
valid = torch.arange(4)[None, :] < lengths[:, None]
onehot = F.one_hot(tokens, num_classes=5) * valid[..., None]
print(targets.sum(0), onehot.sum())
