# pitfall: conv-input-shape
# kind: error
# line: 1, 7
# source: frames decoded with OpenCV/PIL into (N, H, W, 3) arrays and batched for a CNN
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(0)
frames = [rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8) for _ in range(6)]
# %% cell
batch = torch.from_numpy(np.stack(frames)).float() / 255.0
cnn = nn.Sequential(
    nn.Conv2d(3, 16, kernel_size=3, padding=1), nn.ReLU(),
    nn.MaxPool2d(2), nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 5),
)
print(cnn(batch).argmax(1))
