# pitfall: grad-accumulation
# kind: silent
# line: 4, 5
# source: a train_step helper without zero_grad, called once per batch
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
batches = [(torch.randn(8, 5), torch.randn(8, 1)) for _ in range(4)]
# %% cell
model = nn.Linear(5, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
def train_step(x, y):
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()

for x, y in batches:
    print(train_step(x, y))
