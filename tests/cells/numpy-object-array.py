# pitfall: numpy-object-array
# kind: error
# line: 1
# source: audio clips of different lengths kept in a NumPy object array
# %% setup
import numpy as np
import torch
rng = np.random.default_rng(0)
clips = np.empty(4, dtype=object)
for i, n in enumerate([160, 200, 180, 160]):
    clips[i] = rng.standard_normal(n).astype(np.float32)
# %% cell
waveforms = torch.as_tensor(clips)
print(waveforms.shape)
