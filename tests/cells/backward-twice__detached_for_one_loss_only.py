# pitfall: backward-twice
# kind: error
# line: 7
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(16)
upsampler = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv1d(4, 1, 3, padding=1))
critic = nn.Sequential(nn.Conv1d(1, 4, 5, stride=2), nn.LeakyReLU(0.2), nn.Flatten(), nn.LazyLinear(1))
critic(torch.zeros(1, 1, 64))
critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-4)

def spectral_penalty(critic, fake):
    return critic(fake).pow(2).mean() * 0.1
# %% cell
low_res = torch.randn(8, 1, 64)
high_res = torch.randn(8, 1, 64)
restored = upsampler(low_res)
for critic_step in range(3):
    critic_opt.zero_grad()
    fake_score = critic(restored.detach()).mean()
    penalty = spectral_penalty(critic, restored)
    loss = fake_score - critic(high_res).mean() + penalty
    loss.backward()
    critic_opt.step()
