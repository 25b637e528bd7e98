# pitfall: no-grad-fn
# kind: error
# line: 5, 7
# source: knowledge distillation where the student forward ended up inside the no_grad block
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
teacher = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5)).eval()
images = torch.randn(32, 20)
# %% cell
student = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5))
optimizer = torch.optim.Adam(student.parameters(), lr=1e-3)
T = 4.0
for step in range(3):
    with torch.no_grad():
        teacher_logits = teacher(images)
        student_logits = student(images)
    loss = F.kl_div(F.log_softmax(student_logits / T, dim=1),
                    F.softmax(teacher_logits / T, dim=1), reduction="batchmean") * T * T
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
