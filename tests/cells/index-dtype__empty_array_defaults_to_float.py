# pitfall: index-dtype
# kind: error
# line: 2
# source: written for the test suite
# %% setup
import numpy as np
import torch
scores = torch.rand(8)
confidence = np.array([0.1, 0.3, 0.2, 0.05, 0.4, 0.1, 0.2, 0.3])
# %% cell
threshold = 0.9
keep = np.array([i for i, c in enumerate(confidence) if c > threshold])
kept_scores = scores[torch.from_numpy(keep)]
