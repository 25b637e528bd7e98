# pitfall: backward-twice
# kind: error
# line: 11, 12
# source: a first GAN in a notebook: the discriminator step does not detach the fakes
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
real_data = torch.randn(128, 2) * 0.5 + 2.0
# %% cell
G = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
D = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
ones, zeros = torch.ones(64, 1), torch.zeros(64, 1)
for step in range(3):
    real = real_data[torch.randint(0, 128, (64,))]
    fake = G(torch.randn(64, 8))

    opt_d.zero_grad()
    d_loss = (F.binary_cross_entropy_with_logits(D(real), ones)
              + F.binary_cross_entropy_with_logits(D(fake), zeros))
    d_loss.backward()
    opt_d.step()

    opt_g.zero_grad()
    g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
    g_loss.backward()
    opt_g.step()
    print(step, d_loss.item(), g_loss.item())
