# pitfall: backward-twice
# kind: error
# line: 9
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
backbone = nn.Sequential(nn.Linear(10, 16), nn.ReLU())
main_head, aux_head = nn.Linear(16, 3), nn.Linear(16, 1)
params = [*backbone.parameters(), *main_head.parameters(), *aux_head.parameters()]
optimizer = torch.optim.SGD(params, lr=0.1)
x, y, depth = torch.randn(8, 10), torch.randint(0, 3, (8,)), torch.randn(8, 1)
# %% cell
for step in range(2):
    features = backbone(x)
    main_loss = nn.functional.cross_entropy(main_head(features), y)
    aux_loss = nn.functional.mse_loss(aux_head(features), depth)
    optimizer.zero_grad()
    # the auxiliary task is pushed first, then the whole objective
    total = main_loss + 0.3 * aux_loss

    aux_loss.backward()
    total.backward()
    optimizer.step()
