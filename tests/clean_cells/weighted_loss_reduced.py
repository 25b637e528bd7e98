# pitfall: none
# kind: clean
# line: 0
# source: per-sample weighted BCE averaged before backward, and a gradient penalty with grad_outputs
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
reviews = torch.randn(16, 20)
liked = torch.randint(0, 2, (16,)).float()
weights = torch.where(liked > 0, 3.0, 1.0)
critic = nn.Sequential(nn.Linear(20, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
# %% cell
scorer = nn.Linear(20, 1)
opt = torch.optim.SGD(scorer.parameters(), lr=0.1)
opt.zero_grad()
logits = scorer(reviews).squeeze(1)
per_review = F.binary_cross_entropy_with_logits(logits, liked, reduction="none")
weighted = (per_review * weights).mean()
weighted.backward()
opt.step()
mixed = reviews.clone().requires_grad_(True)
scores = critic(mixed)
grads = torch.autograd.grad(scores, mixed, grad_outputs=torch.ones_like(scores), create_graph=True)[0]
penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
print(weighted.item(), penalty.item())
