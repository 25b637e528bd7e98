# pitfall: index-out-of-bounds
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
links = [(1, 2), (2, 3), (3, 4), (4, 5), (5, 1), (2, 5)]   # stations numbered from 1
flows = torch.randn(5, 3)

def aggregate(features, senders, receivers):
    out = torch.zeros_like(features)
    return out.index_add_(0, receivers, features.index_select(0, senders))
# %% cell
pairs = torch.tensor(links)
senders, receivers = pairs[:, 0], pairs[:, 1]
mixed = aggregate(flows, senders, receivers)
