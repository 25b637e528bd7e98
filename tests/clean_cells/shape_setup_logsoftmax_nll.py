# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(43)
mfcc, genre = torch.randn(48, 13), torch.randint(0, 6, (48,))

class GenreNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 6))
        self.log_probs = nn.LogSoftmax(dim=-1)

    def forward(self, x):
        return self.log_probs(self.body(x))
# %% cell
net = GenreNet()
criterion = nn.NLLLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    optimizer.zero_grad()
    loss = criterion(net(mfcc), genre)
    loss.backward()
    optimizer.step()
print(round(loss.item(), 4))
