# pitfall: stack-non-tensor-items
# kind: error
# line: 2
# source: NumPy frames of a clip given to torch.stack
# %% setup
import numpy as np
import torch
# %% cell
frames = [np.zeros((4, 4), dtype=np.float32) + i for i in range(3)]
video = torch.stack(frames)
print(video.shape)
