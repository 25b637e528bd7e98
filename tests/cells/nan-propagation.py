# pitfall: nan-propagation
# kind: error
# line: 1
# source: a policy fed with log-scaled visit counts; a zero count gives -inf, which the network turns into NaN
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
counts = torch.tensor([[3.0, 0.0, 5.0], [1.0, 2.0, 0.0]])
policy = nn.Linear(3, 4)
# %% cell
features = torch.log(counts)
logits = policy(features)
dist = torch.distributions.Categorical(logits=logits)
action = dist.sample()
