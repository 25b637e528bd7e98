# pitfall: ambiguous-bool
# kind: error
# line: 2
# source: written for the test suite
# cause: a value made in a second, earlier cell: the loss class from a config dict, never instantiated
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% setup
experiment = {"lr": 0.01, "loss": nn.SmoothL1Loss, "epochs": 2}
# %% cell
model = nn.Linear(3, 2)
criterion = experiment["loss"]
opt = torch.optim.SGD(model.parameters(), lr=experiment["lr"])
inputs, targets = torch.randn(10, 3), torch.randn(10, 2)
for epoch in range(experiment["epochs"]):
    loss = criterion(model(inputs), targets)
    loss.backward()
