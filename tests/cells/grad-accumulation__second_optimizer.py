# pitfall: grad-accumulation
# kind: silent
# line: 14
# source: an actor-critic loop that zeroes the critic's gradients and forgets the actor's
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(9)
states, returns = torch.randn(64, 6), torch.randn(64, 1)
# %% cell
actor = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))
critic = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-3)
critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
for i in range(0, 64, 16):
    s, g = states[i:i + 16], returns[i:i + 16]
    critic_opt.zero_grad()
    value_loss = (critic(s) - g).pow(2).mean()
    value_loss.backward()
    critic_opt.step()
    advantage = (g - critic(s)).detach()
    log_probs = torch.log_softmax(actor(s), dim=1)[:, 0:1]
    policy_loss = -(log_probs * advantage).mean()
    policy_loss.backward()
    actor_opt.step()
