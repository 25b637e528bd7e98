# pitfall: from-numpy-on-tensor
# kind: error
# line: 1
# source: images already made tensors by a transform, converted again with from_numpy
# %% setup
import torch
torch.manual_seed(0)
imgs = torch.rand(4, 3, 8, 8)     # what ToTensor() gave back
# %% cell
batch = torch.from_numpy(imgs).float()
print(batch.mean())
