# pitfall: none
# kind: clean
# line: 0
# source: softmax over the last dimension of a single sample's output
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
scorer = nn.Linear(10, 5)
# %% cell
sample = torch.randn(10)
with torch.no_grad():
    probs = torch.softmax(scorer(sample), dim=-1)
print(probs)
