# pitfall: train-eval-mode
# kind: silent
# line: 2
# source: a validation function that never switches the model to eval mode, written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 4))
tr_x, tr_y = torch.randn(64, 12), torch.randint(0, 4, (64,))
va_x, va_y = torch.randn(16, 12), torch.randint(0, 4, (16,))
# %% cell
def validate(net, x, y):
    hits = 0
    with torch.no_grad():
        for i in range(0, len(x), 8):
            hits += (net(x[i:i + 8]).argmax(1) == y[i:i + 8]).sum().item()
    return hits / len(x)

opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(2):
    model.train()
    for i in range(0, 64, 16):
        loss = F.cross_entropy(model(tr_x[i:i + 16]), tr_y[i:i + 16])
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(validate(model, va_x, va_y))
