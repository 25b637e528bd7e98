# pitfall: mask-shape
# kind: error
# line: 1, 2
# source: a padding mask built for the longest sequence of the dataset, applied to a shorter batch
# %% setup
import torch
torch.manual_seed(0)
lengths = torch.tensor([5, 3, 2])
max_len_dataset = 8
per_token = torch.randn(3, 6)
# %% cell
positions = torch.arange(max_len_dataset)
pad_mask = positions[None, :] >= lengths[:, None]
per_token[pad_mask] = 0.0
