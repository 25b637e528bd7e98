# pitfall: train-eval-mode
# kind: silent
# line: 3
# source: written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
soil_x, soil_y = torch.randn(96, 7), torch.randint(0, 3, (96,))
check_x, check_y = torch.randn(30, 7), torch.randint(0, 3, (30,))

def evaluate(model):
    model.eval()
    with torch.no_grad():
        return (model(check_x).argmax(1) == check_y).float().mean().item()
# %% cell
def fit(model, epochs=3):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for epoch in range(epochs):
        for i in range(0, 96, 32):
            opt.zero_grad()
            F.cross_entropy(model(soil_x[i:i + 32]), soil_y[i:i + 32]).backward()
            opt.step()
        print(epoch, evaluate(model))
    return model

crop_clf = fit(nn.Sequential(nn.Linear(7, 24), nn.ReLU(), nn.Dropout(0.3), nn.Linear(24, 3)))
