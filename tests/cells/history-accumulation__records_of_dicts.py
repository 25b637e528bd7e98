# pitfall: history-accumulation
# kind: silent
# line: 11
# source: written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(18)
pairs = [(torch.randn(6, 20), torch.randn(6, 20)) for _ in range(5)]
# %% cell
siamese = nn.Sequential(nn.Linear(20, 12), nn.Tanh())
opt = torch.optim.SGD(siamese.parameters(), lr=0.05)

def fit_once():
    log = []
    for a, b in pairs:
        loss = (siamese(a) - siamese(b)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.append({"step_loss": loss, "pairs": len(a)})
    return log

history = fit_once()
