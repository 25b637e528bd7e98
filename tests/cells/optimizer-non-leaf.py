# pitfall: optimizer-non-leaf
# kind: error
# line: 3
# source: hand-written regression weights moved to float64 after requires_grad=True, then given to Adam
# %% setup
import torch
torch.manual_seed(0)
device = torch.device("cpu")
# %% cell
X = torch.randn(64, 5, dtype=torch.float64)
y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
w = torch.zeros(5, requires_grad=True).to(device, torch.float64)
b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
opt = torch.optim.Adam([w, b], lr=0.05)
