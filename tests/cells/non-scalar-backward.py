# pitfall: non-scalar-backward
# kind: error
# line: 6
# source: review scores weighted per sample (liked reviews count three times) but never averaged
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
reviews = torch.randn(16, 20)
liked = torch.randint(0, 2, (16,)).float()
weights = torch.where(liked > 0, 3.0, 1.0)
# %% cell
scorer = nn.Linear(20, 1)
opt = torch.optim.SGD(scorer.parameters(), lr=0.1)
logits = scorer(reviews).squeeze(1)
per_review = F.binary_cross_entropy_with_logits(logits, liked, reduction="none")
weighted = per_review * weights
weighted.backward()
opt.step()
