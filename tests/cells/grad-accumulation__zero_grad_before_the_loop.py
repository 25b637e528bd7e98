# pitfall: grad-accumulation
# kind: silent
# line: 3
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(22)
sensor, fault = torch.randn(64, 7), torch.randint(0, 2, (64,)).float()
# %% cell
detector = nn.Sequential(nn.Linear(7, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.SGD(detector.parameters(), lr=0.01)
opt.zero_grad()
for epoch in range(10):
    loss = nn.functional.binary_cross_entropy_with_logits(detector(sensor).squeeze(1), fault)
    loss.backward()
    opt.step()
