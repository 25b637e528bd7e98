# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
rainfall = torch.randn(48, 3).abs()
# %% cell
gen = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
disc = nn.Sequential(nn.Linear(3, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
opt_gen = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.999))
opt_disc = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.999))
for i in range(0, 48, 12):
    real = rainfall[i:i + 12]
    fake = gen(torch.randn(12, 2))
    opt_disc.zero_grad()
    loss_real = F.binary_cross_entropy_with_logits(disc(real), torch.ones(12, 1))
    loss_real.backward()
    loss_fake = F.binary_cross_entropy_with_logits(disc(fake.detach()), torch.zeros(12, 1))
    loss_fake.backward()
    opt_disc.step()
    opt_gen.zero_grad()
    loss_gen = F.binary_cross_entropy_with_logits(disc(fake), torch.ones(12, 1))
    loss_gen.backward()
    opt_gen.step()
print(f"real {loss_real.item():.3f} fake {loss_fake.item():.3f} gen {loss_gen.item():.3f}")
