# pitfall: dataloader-iteration
# kind: error
# line: 2
# source: the first batch taken by indexing the DataLoader like a list
# %% setup
import torch
from torch.utils.data import DataLoader, TensorDataset
# %% cell
loader = DataLoader(TensorDataset(torch.randn(12, 2), torch.arange(12)), batch_size=4)
first_x, first_y = loader[0]
print(first_x.shape)
