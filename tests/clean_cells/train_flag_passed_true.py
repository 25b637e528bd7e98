# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a function parameter: the helper's train flag passed as True for the training step
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
def forward_pass(model, x, y, loss_fn, train=False):
    with torch.set_grad_enabled(train):
        return loss_fn(model(x), y)
# %% cell
policy = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
states, actions = torch.randn(16, 4), torch.randint(0, 2, (16,))
opt.zero_grad()
loss = forward_pass(policy, states, actions, nn.CrossEntropyLoss(), train=True)
loss.backward()
opt.step()
