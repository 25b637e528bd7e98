# pitfall: dim-out-of-range
# kind: error
# line: 3
# source: softmax over dim=1 of a single sample's output, which has no batch dimension
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
scorer = nn.Linear(10, 5)
# %% cell
sample = torch.randn(10)
with torch.no_grad():
    probs = torch.softmax(scorer(sample), dim=1)
print(probs)
