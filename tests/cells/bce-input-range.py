# pitfall: bce-input-range
# kind: error
# line: 7, 12
# source: a churn classifier whose forward returns the raw score, trained with F.binary_cross_entropy
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
customers = torch.randn(32, 12)
churned = (customers[:, 0] > 0.5).float().unsqueeze(1)
# %% cell
class ChurnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(12, 24)
        self.score = nn.Linear(24, 1)
    def forward(self, x):
        return self.score(torch.relu(self.hidden(x)))
net = ChurnNet()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    opt.zero_grad()
    loss = F.binary_cross_entropy(net(customers), churned)
    loss.backward()
    opt.step()
