# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(48)
patients = torch.randn(50, 4)
patients[:, 2] = 1.0
# %% cell
def zscore(x):
    return (x - x.mean(dim=0)) / x.std(dim=0).clamp(min=1e-6)

model = nn.Linear(4, 2)
with torch.no_grad():
    risk = model(zscore(patients)).softmax(dim=1)[:, 1]
print("mean risk", round(risk.mean().item(), 4))
