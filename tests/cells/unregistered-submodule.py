# pitfall: unregistered-submodule
# kind: silent
# line: 5
# source: multi-task model with one head per task kept in a plain dict
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
faces = torch.randn(64, 48)
age_group = torch.randint(0, 5, (64,))
smiling = torch.randint(0, 2, (64,))
# %% cell
class MultiTaskNet(nn.Module):
    def __init__(self, tasks):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(48, 64), nn.ReLU())
        self.heads = {name: nn.Linear(64, n) for name, n in tasks.items()}

    def forward(self, x):
        h = self.trunk(x)
        return {name: head(h) for name, head in self.heads.items()}

net = MultiTaskNet({"age": 5, "smile": 2})
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for step in range(5):
    out = net(faces)
    loss = F.cross_entropy(out["age"], age_group) + F.cross_entropy(out["smile"], smiling)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(len(net.state_dict()), "tensors in the checkpoint")
