# pitfall: none
# kind: clean
# line: 0
# source: the first batch taken with next(iter(loader)) and one sample read from the dataset
# %% setup
import torch
from torch.utils.data import DataLoader, TensorDataset
# %% cell
loader = DataLoader(TensorDataset(torch.randn(12, 2), torch.arange(12)), batch_size=4)
first_x, first_y = next(iter(loader))
sample_x, sample_y = loader.dataset[0]
print(first_x.shape, sample_y.item())
