# pitfall: stack-single-tensor
# kind: error
# line: 2
# source: logits of one batch given to torch.cat as if they were a list of batches
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Linear(6, 3)
x = torch.randn(5, 6)
# %% cell
logits = model(x)
all_logits = torch.cat(logits, dim=0)
print(all_logits.shape)
