# pitfall: backward-twice
# kind: error
# line: 12
# source: an adversarial autoencoder: the codes feed the discriminator's summed loss without .detach()
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(1)
images = torch.rand(96, 20)
# %% cell
encoder = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4))
critic = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
opt_enc = torch.optim.SGD(encoder.parameters(), lr=0.01)
opt_critic = torch.optim.SGD(critic.parameters(), lr=0.01)
bce = nn.BCEWithLogitsLoss()
for start in range(0, 96, 32):
    batch = images[start:start + 32]
    codes = encoder(batch)
    prior = torch.randn(32, 4)
    opt_critic.zero_grad()
    on_prior = bce(critic(prior), torch.ones(32, 1))
    on_codes = bce(critic(codes), torch.zeros(32, 1))
    (on_prior + on_codes).backward()
    opt_critic.step()
    opt_enc.zero_grad()
    fool = bce(critic(codes), torch.ones(32, 1))
    fool.backward()
    opt_enc.step()
