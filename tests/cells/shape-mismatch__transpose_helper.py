# pitfall: shape-mismatch
# kind: error
# line: 3
# source: written for the test suite
# cause: a helper from a setup cell transposes the wrong axes of a spectrogram batch
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
def to_frames(spectrogram):
    """(batch, mels, time) -> (batch, time, mels) for a frame-wise classifier."""
    return spectrogram.transpose(0, 1)
# %% cell
frame_classifier = nn.Linear(40, 6)
clips = torch.randn(8, 40, 25)
frames = to_frames(clips)
scores = frame_classifier(frames)
print(scores.shape)
