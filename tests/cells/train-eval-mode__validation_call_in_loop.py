# pitfall: train-eval-mode
# kind: silent
# line: 15
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(8)
tokens = torch.randint(0, 50, (64, 12))
sentiment = torch.randint(0, 2, (64,))
# %% cell
encoder = nn.Sequential(nn.Embedding(50, 16), nn.Flatten(), nn.Dropout(0.3), nn.Linear(16 * 12, 2))
opt = torch.optim.Adam(encoder.parameters(), lr=1e-3)

def validate():
    encoder.eval()
    with torch.no_grad():
        return (encoder(tokens[48:]).argmax(1) == sentiment[48:]).float().mean().item()

def fit(epochs=4):
    for epoch in range(epochs):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(encoder(tokens[:48]), sentiment[:48])
        loss.backward()
        opt.step()
        print(epoch, validate())

fit()
