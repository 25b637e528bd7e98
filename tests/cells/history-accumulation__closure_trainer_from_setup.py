# pitfall: history-accumulation
# kind: silent
# line: 3
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(19)
xs = torch.linspace(-2, 2, 64).unsqueeze(1)
ys = torch.sin(3 * xs)

class CurveFitter:
    def __init__(self, model):
        self.model = model
        self.optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
        self.trace = []

    def closure(self):
        self.optimizer.zero_grad()
        loss = nn.functional.mse_loss(self.model(xs), ys)
        loss.backward()
        self.trace.append(loss)
        return loss
# %% cell
fitter = CurveFitter(nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)))
for it in range(3):
    fitter.optimizer.step(fitter.closure)
print(len(fitter.trace))
