# pitfall: softmax-before-crossentropy
# kind: silent
# line: 2, 8
# source: written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
# %% cell
def make_model():
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3), nn.Softmax(dim=1))

def train(model, steps=3):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

train(make_model())
