# pitfall: cat-size-mismatch
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(12)

class WaveUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.down1 = nn.Conv1d(1, 8, 15, padding=7)
        self.down2 = nn.Conv1d(8, 16, 15, padding=7)
        self.pool = nn.MaxPool1d(2)
        self.up = nn.ConvTranspose1d(16, 8, 2, stride=2)
        self.out = nn.Conv1d(16, 1, 1)

    def forward(self, wave):
        skip = self.down1(wave)
        deep = self.down2(self.pool(skip))
        return self.out(torch.cat([skip, self.up(deep)], dim=1))

def random_clips(n, length):
    return torch.randn(n, 1, length)
# %% cell
clip_len = 16001
denoiser = WaveUNet()
noisy = random_clips(4, clip_len)
clean_estimate = denoiser(noisy)
