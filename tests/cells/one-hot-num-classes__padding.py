# pitfall: one-hot-num-classes
# kind: error
# line: 2
# source: padding positions marked -1 in the labels, then one-hot encoded
# %% setup
import torch
import torch.nn.functional as F
tokens = torch.tensor([[3, 1, 4, 0], [2, 2, 0, 0]])
lengths = torch.tensor([4, 2])
# %% cell
valid = torch.arange(4)[None, :] < lengths[:, None]
labels = torch.where(valid, tokens, -1)
onehot = F.one_hot(labels, num_classes=5)
