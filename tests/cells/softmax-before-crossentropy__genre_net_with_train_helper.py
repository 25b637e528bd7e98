# pitfall: softmax-before-crossentropy
# kind: silent
# line: 1
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
songs_x, songs_y = torch.randn(60, 12), torch.randint(0, 5, (60,))

class GenreNet(nn.Module):
    def __init__(self, n_in, n_genres):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, 32), nn.ReLU())
        self.fc = nn.Linear(32, n_genres)

    def forward(self, x):
        x = self.body(x)
        return torch.softmax(self.fc(x), dim=1)

def train(model, x, y, epochs=3, bs=20):
    criterion = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for epoch in range(epochs):
        for i in range(0, len(x), bs):
            loss = criterion(model(x[i:i + bs]), y[i:i + bs])
            opt.zero_grad()
            loss.backward()
            opt.step()
        history.append(loss.item())
    return history
# %% cell
net = GenreNet(12, 5)
history = train(net, songs_x, songs_y, epochs=4)
print(history)
