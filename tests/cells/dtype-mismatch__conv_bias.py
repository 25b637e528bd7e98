# pitfall: dtype-mismatch
# kind: error
# line: 1
# source: spectrograms computed with NumPy (float64) fed to a Conv2d audio classifier
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(1)
waves = rng.normal(size=(4, 4096))
# %% cell
spectrograms = torch.tensor(np.abs(np.stack([np.fft.rfft(w.reshape(64, 64), axis=1) for w in waves])))
net = nn.Sequential(
    nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3),
)
logits = net(spectrograms.unsqueeze(1).log1p())
print(logits.shape)
