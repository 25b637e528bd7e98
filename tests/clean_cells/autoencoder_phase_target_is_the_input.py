# pitfall: none
# kind: clean
# line: 0
# source: a model that returns its reconstruction target: the input in phase one, a detached code in phase two
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)


class TwoStage(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(16, 8)
        self.dec = nn.Linear(8, 16)
        self.enc2 = nn.Linear(8, 4)
        self.dec2 = nn.Linear(4, 8)

    def forward(self, x, stage=1):
        h = torch.tanh(self.enc(x))
        if stage == 1:
            return self.dec(h), x
        return self.dec2(torch.tanh(self.enc2(h))), h.detach()


data = torch.rand(32, 16)
# %% cell
net = TwoStage()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for stage in (1, 2):
    for _ in range(5):
        recon, target = net(data, stage)
        loss = F.mse_loss(recon, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
print(loss.item())
