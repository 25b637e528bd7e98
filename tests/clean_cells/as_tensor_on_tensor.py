# pitfall: none
# kind: clean
# line: 0
# source: images converted with as_tensor, which accepts tensors too
# %% setup
import torch
torch.manual_seed(0)
imgs = torch.rand(4, 3, 8, 8)
# %% cell
batch = torch.as_tensor(imgs).float()
print(batch.mean())
