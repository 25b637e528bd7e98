# pitfall: bce-input-range
# kind: error
# line: 3
# source: "label smoothing" applied to the predicted probabilities instead of the targets
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
x = torch.randn(16, 6) * 3
y = torch.randint(0, 2, (16, 1)).float()
# %% cell
head = nn.Linear(6, 1)
probs = torch.sigmoid(head(x))
smoothed = probs * 1.5 - 0.25
loss = nn.BCELoss()(smoothed, y)
