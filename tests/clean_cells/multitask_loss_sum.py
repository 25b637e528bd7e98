# pitfall: none
# kind: clean
# line: 0
# source: several heads whose losses are summed inside the step and backpropagated together
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x = torch.randn(16, 10)
labels = [torch.randint(0, 3, (16,)) for _ in range(3)]
# %% cell
class MultiHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(10, 32)
        self.heads = nn.ModuleDict({f"task{i}": nn.Linear(32, 3) for i in range(3)})

    def forward(self, x):
        h = torch.relu(self.body(x))
        return {name: head(h) for name, head in self.heads.items()}


net = MultiHead()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
epoch_loss = 0.0
for step in range(3):
    outputs = net(x)
    loss = 0
    for i, name in enumerate(outputs):
        loss += F.cross_entropy(outputs[name], labels[i])
    opt.zero_grad()
    loss.backward()
    opt.step()
    epoch_loss += loss.item()
print(epoch_loss)
