# pitfall: none
# kind: clean
# line: 0
# source: an accumulator for one row, added each batch's column sums in place
# %% setup
import torch
torch.manual_seed(0)
batches = torch.randn(3, 5, 4)
# %% cell
total = torch.zeros(4)
for batch in batches:
    total += batch.sum(dim=0)
print(total)
