# pitfall: bn-batch-size-one
# kind: error
# line: 1, 2
# source: predicting one new sample right after training, without switching to eval()
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 16),
                      nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
model(torch.randn(8, 1, 10, 10)).sum().backward()   # (training happened here)
new_scan = torch.randn(1, 10, 10)
# %% cell
with torch.no_grad():
    scores = model(new_scan.unsqueeze(0))
print(scores.softmax(dim=1))
