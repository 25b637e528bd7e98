# pitfall: non-scalar-backward
# kind: error
# line: 4
# source: a WGAN-GP gradient penalty asking autograd.grad for the gradient of the critic's per-sample scores
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
critic = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
real, fake = torch.randn(6, 8), torch.randn(6, 8)
# %% cell
alpha = torch.rand(6, 1)
mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
scores = critic(mixed)
grads = torch.autograd.grad(scores, mixed, create_graph=True)[0]
penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
