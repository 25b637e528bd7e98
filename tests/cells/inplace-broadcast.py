# pitfall: inplace-broadcast
# kind: error
# line: 1
# source: an accumulator made for one row, added a whole batch in place
# %% setup
import torch
torch.manual_seed(0)
batches = torch.randn(3, 5, 4)
# %% cell
total = torch.zeros(4)
for batch in batches:
    total += batch
print(total)
