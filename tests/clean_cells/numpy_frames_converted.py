# pitfall: none
# kind: clean
# line: 0
# source: NumPy frames of a clip turned into one tensor with from_numpy
# %% setup
import numpy as np
import torch
# %% cell
frames = [np.zeros((4, 4), dtype=np.float32) + i for i in range(3)]
video = torch.from_numpy(np.stack(frames))
print(video.shape)
