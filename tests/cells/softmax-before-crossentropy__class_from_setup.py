# pitfall: softmax-before-crossentropy
# kind: silent
# line: 1, 6
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(20)
mfcc = torch.randn(48, 13)
genre = torch.randint(0, 6, (48,))

class GenreNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 6))
        self.probs = nn.Softmax(dim=-1)

    def forward(self, x):
        return self.probs(self.body(x))
# %% cell
net = GenreNet()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    optimizer.zero_grad()
    loss = criterion(net(mfcc), genre)
    loss.backward()
    optimizer.step()
