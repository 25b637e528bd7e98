# pitfall: negative-dimension
# kind: error
# line: 2
# source: a buffer of sliding windows over a sequence shorter than the window
# %% setup
import torch
# %% cell
seq_len, window = 6, 8
n_windows = seq_len - window - 1
buffer = torch.zeros(n_windows, window)
print(buffer.shape)
