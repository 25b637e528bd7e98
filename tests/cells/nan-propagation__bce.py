# pitfall: nan-propagation
# kind: error
# line: 1
# source: click-through rates computed per bucket, where an empty bucket divides 0 by 0
# %% setup
import torch
import torch.nn.functional as F
clicks = torch.tensor([2.0, 0.0, 7.0])
views = torch.tensor([10.0, 0.0, 9.0])
bought = torch.tensor([0.0, 0.0, 1.0])
# %% cell
rate = clicks / views
loss = F.binary_cross_entropy(rate, bought)
