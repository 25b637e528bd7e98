# pitfall: shape-mismatch
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(26)

class FrameEncoder(nn.Module):
    def __init__(self, features, clip_len=4):
        super().__init__()
        self.clip_len = clip_len
        self.position = nn.Parameter(torch.zeros(64, features))

    def forward(self, frames):
        steps = self.clip_len
        pos = self.position[:steps].unsqueeze(0)
        return frames + pos
# %% cell
encoder = FrameEncoder(16)
clips = torch.randn(2, 8, 16)
encoded = encoder(clips)
