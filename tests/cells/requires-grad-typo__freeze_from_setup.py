# pitfall: requires-grad-typo
# kind: silent
# line: 3
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(19)
frames = torch.randn(6, 3, 16, 16)
actions = torch.randint(0, 4, (6,))

def freeze_layers(model, upto):
    for layer in list(model.children())[:upto]:
        for p in layer.parameters():
            p.requries_grad = False
# %% cell
policy = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 4))
opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
freeze_layers(policy, 2)
opt.zero_grad()
nn.functional.cross_entropy(policy(frames), actions).backward()
opt.step()
