# pitfall: requires-grad-dtype
# kind: error
# line: 1
# source: quadratic coefficients written as whole numbers, then marked for fitting
# %% setup
import torch
torch.manual_seed(0)
xs = torch.linspace(-1, 1, 50)
ys = 3 * xs ** 2 - 2 * xs + 1 + 0.1 * torch.randn(50)
# %% cell
coeffs = torch.tensor([0, 0, 1])
coeffs.requires_grad_()
opt = torch.optim.Adam([coeffs], lr=0.1)
for step in range(100):
    opt.zero_grad()
    pred = coeffs[0] * xs ** 2 + coeffs[1] * xs + coeffs[2]
    loss = ((pred - ys) ** 2).mean()
    loss.backward()
    opt.step()
