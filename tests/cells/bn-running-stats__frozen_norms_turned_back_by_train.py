# pitfall: bn-running-stats
# kind: silent
# line: 10
# source: written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(27)
scans = torch.randn(12, 1, 16, 16)
organ = torch.randint(0, 3, (12,))
# %% cell
classifier = nn.Sequential(nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                           nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
for layer in classifier.modules():
    if isinstance(layer, nn.BatchNorm2d):
        layer.eval()
opt = torch.optim.SGD(classifier.parameters(), lr=0.01)

def fine_tune(epochs=2):
    for _ in range(epochs):
        classifier.train()
        for i in range(0, 12, 4):
            opt.zero_grad()
            nn.functional.cross_entropy(classifier(scans[i:i + 4]), organ[i:i + 4]).backward()
            opt.step()

fine_tune()
