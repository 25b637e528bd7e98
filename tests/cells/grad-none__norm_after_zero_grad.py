# pitfall: grad-none
# kind: error
# line: 9, 10
# source: gradient-norm logging placed after zero_grad (grads are None since torch 2.0)
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x = torch.randn(64, 12)
y = torch.randint(0, 4, (64,))
# %% cell
model = nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
grad_norms = []
for step in range(5):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    total = torch.stack([p.grad.norm() for p in model.parameters()]).norm()
    grad_norms.append(total.item())
print(grad_norms)
