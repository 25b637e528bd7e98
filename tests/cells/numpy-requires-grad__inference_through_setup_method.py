# pitfall: numpy-requires-grad
# kind: error
# line: 3
# source: a keypoint model's predict method of an earlier cell run with autograd on, then plotted, written for the test suite
# shape: setup
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)


class Keypoints(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(16, 10)

    def predict(self, x):
        return {"points": self.body(x).view(-1, 5, 2), "size": x.shape[0]}


def to_canvas(outputs, scale=64):
    return [np.round(p.numpy() * scale) for p in outputs["points"]]


frames = torch.randn(3, 16)
# %% cell
model = Keypoints()
model.eval()
outputs = model.predict(frames)
canvas = to_canvas(outputs)
print(len(canvas))
