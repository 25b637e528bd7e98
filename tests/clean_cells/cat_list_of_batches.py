# pitfall: none
# kind: clean
# line: 0
# source: logits of several batches collected in a list and joined with torch.cat
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Linear(6, 3)
xs = torch.randn(4, 5, 6)
# %% cell
with torch.no_grad():
    outputs = [model(x) for x in xs]
all_logits = torch.cat(outputs, dim=0)
print(all_logits.shape)
