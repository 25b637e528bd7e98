# pitfall: gather-scatter-shape
# kind: error
# line: 7
# source: a hand-written NLL that picks the log-probabilities of the labels with gather
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
inputs = torch.randn(100, 20)
targets = torch.randint(0, 5, (100,))
# %% cell
model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for start in range(0, 100, 25):
    xb = inputs[start:start + 25]
    log_probs = model(xb).log_softmax(dim=1)
    optimizer.zero_grad()
    picked = log_probs.gather(1, targets.unsqueeze(1))
    loss = -picked.mean()
    loss.backward()
    optimizer.step()
