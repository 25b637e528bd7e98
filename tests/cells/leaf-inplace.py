# pitfall: leaf-inplace
# kind: error
# line: 4, 5
# source: custom weight initialisation of a small CNN, written in a notebook
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 10 * 10, 10))
# %% cell
def init_weights(model, std=0.02):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.weight.normal_(0.0, std)
            m.bias.fill_(0.0)

init_weights(net)
print(net[0].weight.std().item())
