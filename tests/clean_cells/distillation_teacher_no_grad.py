# pitfall: none
# kind: clean
# line: 0
# source: knowledge distillation with the teacher evaluated under no_grad
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
teacher = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))
unlabeled = torch.randn(128, 20)
# %% cell
student = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 10))
optimizer = torch.optim.Adam(student.parameters(), lr=1e-3)
T = 2.0
teacher.eval()
for i in range(0, 128, 32):
    xb = unlabeled[i:i + 32]
    with torch.no_grad():
        soft_targets = F.softmax(teacher(xb) / T, dim=1)
    log_probs = F.log_softmax(student(xb) / T, dim=1)
    loss = F.kl_div(log_probs, soft_targets, reduction="batchmean") * T * T
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"distillation loss {loss.item():.4f}")
