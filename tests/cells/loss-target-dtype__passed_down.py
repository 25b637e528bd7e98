# pitfall: loss-target-dtype
# kind: error
# line: 4
# source: written for the test suite
# cause: a function parameter passed down two calls: the label dtype given to the epoch loop reaches the loss
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
def train_step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()
def run_epoch(model, opt, batches, label_dtype):
    return [train_step(model, opt, x, y.to(label_dtype)) for x, y in batches]
# %% cell
digits = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
opt = torch.optim.SGD(digits.parameters(), lr=0.1)
batches = [(torch.rand(8, 8, 8), torch.randint(0, 10, (8,))) for _ in range(3)]
losses = run_epoch(digits, opt, batches, label_dtype=torch.float32)
print(losses)
