# pitfall: none
# kind: clean
# line: 0
# source: log_softmax paired with nll_loss; probabilities computed only for display
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x, y = torch.randn(16, 20), torch.randint(0, 5, (16,))
# %% cell
model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5), nn.LogSoftmax(dim=1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    opt.zero_grad()
    log_probs = model(x)
    loss = F.nll_loss(log_probs, y)
    loss.backward()
    opt.step()
probs = log_probs.detach().exp()
print(loss.item(), probs.sum(1)[:3])
