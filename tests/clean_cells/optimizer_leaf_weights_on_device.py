# pitfall: none
# kind: clean
# line: 0
# source: hand-written regression weights created on their device and dtype, then trained with Adam
# %% setup
import torch
torch.manual_seed(0)
device = torch.device("cpu")
# %% cell
X = torch.randn(64, 5, dtype=torch.float64)
y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
w = torch.zeros(5, device=device, dtype=torch.float64, requires_grad=True)
b = torch.zeros(1, device=device, dtype=torch.float64, requires_grad=True)
opt = torch.optim.Adam([w, b], lr=0.05)
for _ in range(5):
    loss = ((X @ w + b - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print(round(loss.item(), 3))
