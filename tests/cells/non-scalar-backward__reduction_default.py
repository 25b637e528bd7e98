# pitfall: non-scalar-backward
# kind: error
# line: 1, 2
# source: written for the test suite
# cause: a default argument of a loss function: per-element losses kept for a weighting that never happens
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
# %% cell
def box_loss(pred, target, weight=None, reduction="none"):
    loss = F.smooth_l1_loss(pred, target, reduction=reduction)
    return loss * weight if weight is not None else loss

regressor = nn.Linear(32, 4)
boxes = torch.rand(6, 4)
loss = box_loss(regressor(torch.randn(6, 32)), boxes)
loss.backward()
