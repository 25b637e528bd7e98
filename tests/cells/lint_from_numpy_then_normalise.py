# pitfall: from-numpy-shares-memory
# kind: silent
# line: 2
# source: the tensor is normalised in place, which also changes the raw NumPy array
# shape: top
# %% setup
import numpy as np
import torch
# %% cell
raw = np.arange(12, dtype=np.float32).reshape(3, 4)
x = torch.from_numpy(raw)
x -= x.mean()
print("raw data still", raw[0])
