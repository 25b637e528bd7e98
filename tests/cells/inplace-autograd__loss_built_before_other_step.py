# pitfall: inplace-autograd
# kind: error
# line: 4
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4))
critic = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
enc_opt = torch.optim.SGD(encoder.parameters(), lr=0.1)
critic_opt = torch.optim.SGD(critic.parameters(), lr=0.1)
real = torch.randn(32, 4)
data = torch.randn(32, 10)
# %% cell
def update(x):
    z = encoder(x)
    critic_loss = critic(z.detach()).mean() - critic(real).mean()
    enc_loss = -critic(z).mean()

    critic_opt.zero_grad()
    critic_loss.backward()
    critic_opt.step()

    enc_opt.zero_grad()
    enc_loss.backward()
    enc_opt.step()

update(data)
