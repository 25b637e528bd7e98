# pitfall: non-finite-values
# kind: silent
# line: 2
# source: written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(17)
patients = torch.randn(50, 4)
patients[:, 2] = 1.0    # a lab value recorded as constant in this cohort
outcome = torch.randint(0, 2, (50,))
# %% cell
def zscore(x):
    return (x - x.mean(dim=0)) / x.std(dim=0)

model = nn.Linear(4, 2)
inputs = zscore(patients)
with torch.no_grad():
    risk = model(inputs).softmax(dim=1)[:, 1]
print("mean risk", risk.mean().item())
