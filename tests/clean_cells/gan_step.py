# pitfall: none
# kind: clean
# line: 0
# source: one GAN training step per batch with the fake images detached for the discriminator
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
real_batches = [torch.randn(16, 8) for _ in range(3)]
# %% cell
G = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8))
D = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
criterion = nn.BCEWithLogitsLoss()
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
for real in real_batches:
    ones, zeros = torch.ones(real.size(0), 1), torch.zeros(real.size(0), 1)
    fake = G(torch.randn(real.size(0), 4))
    opt_d.zero_grad()
    d_loss = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = criterion(D(fake), ones)
    g_loss.backward()
    opt_g.step()
print(f"D {d_loss.item():.3f}  G {g_loss.item():.3f}")
