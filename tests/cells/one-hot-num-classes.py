# pitfall: one-hot-num-classes
# kind: error
# line: 1, 2
# source: 1..5 star ratings one-hot encoded with num_classes=5
# %% setup
import numpy as np
import torch
import torch.nn.functional as F
ratings_np = np.array([5, 3, 4, 1, 2, 5])
# %% cell
ratings = torch.as_tensor(ratings_np)
targets = F.one_hot(ratings, num_classes=5).float()
print(targets.sum(0))
