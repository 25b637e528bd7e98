# pitfall: loss-target-dtype
# kind: error
# line: 2, 4
# source: written for the test suite
# cause: a collate function from a setup cell stacks the class labels as float32
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
torch.manual_seed(0)
# %% setup
def collate_readings(samples):
    signals = torch.stack([torch.as_tensor(s, dtype=torch.float32) for s, _ in samples])
    labels = torch.tensor([label for _, label in samples], dtype=torch.float32)
    return signals, labels
# %% cell
readings = [(torch.randn(12).tolist(), i % 3) for i in range(20)]
loader = DataLoader(readings, batch_size=5, collate_fn=collate_readings)
net = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 3))
for signals, labels in loader:
    loss = F.cross_entropy(net(signals), labels)
    loss.backward()
