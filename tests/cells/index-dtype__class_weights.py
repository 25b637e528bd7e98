# pitfall: index-dtype
# kind: error
# line: 1, 3
# source: per-sample weights looked up from class frequencies, with labels stored as float
# %% setup
import torch
torch.manual_seed(0)
label_column = torch.Tensor([0, 2, 1, 1, 0, 2, 2, 2, 1, 0])       # read from a CSV column
# %% cell
counts = torch.bincount(label_column.long(), minlength=3).float()
class_weight = counts.sum() / (3 * counts)
sample_weight = class_weight[label_column]
print(sample_weight)
