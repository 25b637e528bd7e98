# pitfall: none
# kind: clean
# line: 0
# source: a padding mask built for the batch's own padded length
# %% setup
import torch
torch.manual_seed(0)
lengths = torch.tensor([5, 3, 2])
per_token = torch.randn(3, 6)
# %% cell
positions = torch.arange(per_token.shape[1])
pad_mask = positions[None, :] >= lengths[:, None]
per_token[pad_mask] = 0.0
print(per_token.count_nonzero())
