# pitfall: integer-tensor-float-op
# kind: error
# line: 2
# source: softmax over integer class counts
# %% setup
import torch
torch.manual_seed(0)
labels = torch.randint(0, 4, (50,))
# %% cell
counts = torch.bincount(labels, minlength=4)
weights = torch.softmax(counts, dim=0)
print(weights)
