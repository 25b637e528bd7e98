# pitfall: invalid-probabilities
# kind: error
# line: 1, 2
# source: a probability cut-off that removes every candidate of a row before sampling
# %% setup
import torch
torch.manual_seed(0)
probs = torch.softmax(torch.randn(3, 12), -1)
# %% cell
keep = probs >= 0.5
filtered = probs * keep
choice = torch.multinomial(filtered, 1)
