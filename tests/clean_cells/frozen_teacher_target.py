# pitfall: none
# kind: clean
# line: 0
# source: feature matching against a teacher whose parameters are frozen with requires_grad_(False)
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
data = torch.randn(64, 12)
# %% cell
teacher = nn.Sequential(nn.Linear(12, 8), nn.Tanh())
teacher.requires_grad_(False)
student = nn.Sequential(nn.Linear(12, 8), nn.Tanh())
optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
for i in range(0, 64, 16):
    xb = data[i:i + 16]
    target_feats = teacher(xb)
    loss = F.mse_loss(student(xb), target_feats)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(loss.item(), target_feats.requires_grad)
