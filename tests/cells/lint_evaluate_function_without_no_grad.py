# pitfall: eval-without-no-grad
# kind: silent
# line: 5
# source: an evaluate() helper that forgot no_grad; outputs kept in a list
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
val_batches = [(torch.randn(8, 6), torch.randint(0, 2, (8,))) for _ in range(3)]
# %% cell
def evaluate(net, batches):
    net.eval()
    outputs = []
    for x, _ in batches:
        outputs.append(net(x))
    return torch.cat(outputs).argmax(1).tolist()

model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
print(evaluate(model, val_batches))
