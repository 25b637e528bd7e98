# pitfall: dim-out-of-range
# kind: error
# line: 2
# source: a batch of one sequence squeezed, which also drops the batch dimension
# %% setup
import torch
torch.manual_seed(0)
# %% cell
batch = torch.randn(1, 3, 8)
feats = batch.squeeze()
pooled = feats.mean(dim=2)
print(pooled.shape)
