# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(46)
frames = torch.randn(6, 3, 16, 16)
actions = torch.randint(0, 4, (6,))

def freeze_layers(model, upto):
    for layer in list(model.children())[:upto]:
        for p in layer.parameters():
            p.requires_grad = False
# %% cell
policy = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 4))
freeze_layers(policy, 2)
opt = torch.optim.Adam([p for p in policy.parameters() if p.requires_grad], lr=1e-3)
opt.zero_grad()
nn.functional.cross_entropy(policy(frames), actions).backward()
opt.step()
print(policy[0].weight.grad is None)
