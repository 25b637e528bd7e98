# pitfall: bn-batch-size-one
# kind: error
# line: 3
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(10)
frames = TensorDataset(torch.randn(16, 1, 20, 20), torch.randint(0, 3, (16,)))
# %% cell
classifier = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                           nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
loader = DataLoader(frames, batch_size=1, shuffle=True)
opt = torch.optim.SGD(classifier.parameters(), lr=0.01)
for image, label in loader:
    opt.zero_grad()
    nn.functional.cross_entropy(classifier(image), label).backward()
    opt.step()
