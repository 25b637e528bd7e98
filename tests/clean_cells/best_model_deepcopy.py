# pitfall: none
# kind: clean
# line: 0
# source: keeping the best model of a training run with copy.deepcopy and a cloned state dict
# %% setup
import copy
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x_train, y_train = torch.randn(120, 12), torch.randint(0, 3, (120,))
x_val, y_val = torch.randn(40, 12), torch.randint(0, 3, (40,))
# %% cell
model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
best_acc, best_model, best_state = 0.0, copy.deepcopy(model), None
for epoch in range(5):
    model.train()
    optimizer.zero_grad()
    F.cross_entropy(model(x_train), y_train).backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x_val).argmax(1) == y_val).float().mean().item()
    if acc > best_acc:
        best_acc = acc
        best_model = copy.deepcopy(model)
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
model.load_state_dict(best_state)
print("best val acc", best_acc, best_model is model)
