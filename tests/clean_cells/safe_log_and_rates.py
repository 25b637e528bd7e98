# pitfall: none
# kind: clean
# line: 0
# source: log1p of visit counts for a policy, and rates with a guarded denominator for BCE
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
counts = torch.tensor([[3.0, 0.0, 5.0], [1.0, 2.0, 0.0]])
policy = nn.Linear(3, 4)
clicks = torch.tensor([2.0, 0.0, 7.0])
views = torch.tensor([10.0, 0.0, 9.0])
bought = torch.tensor([0.0, 0.0, 1.0])
# %% cell
features = torch.log1p(counts)
logits = policy(features)
dist = torch.distributions.Categorical(logits=logits)
action = dist.sample()
rate = clicks / views.clamp_min(1.0)
loss = F.binary_cross_entropy(rate, bought)
print(action, loss.item())
