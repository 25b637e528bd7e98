# pitfall: none
# kind: clean
# line: 0
# source: class weights from counts converted to floats first
# %% setup
import torch
torch.manual_seed(0)
labels = torch.randint(0, 4, (50,))
# %% cell
counts = torch.bincount(labels, minlength=4).float()
weights = counts.sum() / (4 * counts)
print(weights)
