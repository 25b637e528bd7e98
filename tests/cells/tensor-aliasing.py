# pitfall: tensor-aliasing
# kind: silent
# line: 7
# source: measuring how much one optimizer step moves the first layer's weights
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x, y = torch.randn(64, 10), torch.randint(0, 3, (64,))
# %% cell
net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
for step in range(3):
    loss = F.cross_entropy(net(x), y)
    optimizer.zero_grad()
    loss.backward()
    weights_before = net[0].weight.data
    optimizer.step()
    update = (net[0].weight.data - weights_before).norm().item()
    print(f"step {step}: loss {loss.item():.3f}, update norm {update:.6f}")
