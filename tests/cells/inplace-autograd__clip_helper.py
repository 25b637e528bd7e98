# pitfall: inplace-autograd
# kind: error
# line: 4
# source: written for the test suite
# cause: a helper from a setup cell clips the sigmoid's output in place, which sigmoid's backward needs
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
def keep_confident(probs, floor=0.05):
    """Keep probabilities away from 0 and 1 before the log-loss."""
    return probs.clamp_(floor, 1 - floor)
# %% cell
detector = nn.Linear(10, 1)
signals, present = torch.randn(16, 10), (torch.rand(16, 1) > 0.5).float()
probs = torch.sigmoid(detector(signals))
probs = keep_confident(probs)
loss = nn.functional.binary_cross_entropy(probs, present)
loss.backward()
