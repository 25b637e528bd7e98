# pitfall: expand-non-singleton
# kind: error
# line: 3
# source: written for the test suite
# shape: top
# %% setup
import torch
torch.manual_seed(0)
counts = torch.randint(1, 20, (50, 30)).float()  # documents x vocabulary
# %% cell
def term_frequencies(matrix):
    smoothed = matrix + 1.0
    totals = smoothed.sum(dim=1)
    return smoothed / totals.expand_as(smoothed)

tf = term_frequencies(counts)
