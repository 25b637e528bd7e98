# pitfall: none
# kind: clean
# line: 0
# source: audio clips of different lengths padded into one float array
# %% setup
import numpy as np
import torch
rng = np.random.default_rng(0)
clips = [rng.standard_normal(n).astype(np.float32) for n in [160, 200, 180, 160]]
# %% cell
longest = max(len(c) for c in clips)
batch = np.stack([np.pad(c, (0, longest - len(c))) for c in clips])
waveforms = torch.from_numpy(batch)
print(waveforms.shape, waveforms.dtype)
