# pitfall: none
# kind: clean
# line: 0
# source: a buffer of sliding windows, none when the sequence is shorter than the window
# %% setup
import torch
# %% cell
seq_len, window = 6, 8
n_windows = max(0, seq_len - window + 1)
buffer = torch.zeros(n_windows, window)
print(buffer.shape)
