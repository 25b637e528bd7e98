# pitfall: bn-running-stats
# kind: silent
# line: 5
# seen: run
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
spectra, grades = torch.randn(64, 10) * 2 + 1, torch.randint(0, 3, (64,))
val_spectra, val_grades = torch.randn(32, 10) * 2 + 1, torch.randint(0, 3, (32,))

class GradeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.backbone(x))
# %% cell
model = GradeNet()
model.backbone.requires_grad_(False)
opt = torch.optim.SGD(model.head.parameters(), lr=0.1)
for epoch in range(3):
    model.train()
    for i in range(0, 64, 16):
        opt.zero_grad()
        F.cross_entropy(model(spectra[i:i + 16]), grades[i:i + 16]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(val_spectra).argmax(1) == val_grades).float().mean().item()
    print(epoch, acc)
