# pitfall: backward-twice
# kind: error
# line: 5, 10
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(13)
actor = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 3))
actor_opt = torch.optim.Adam(actor.parameters(), lr=3e-4)

def update(log_probs, advantages):
    loss = -(torch.stack(log_probs) * advantages).mean()
    actor_opt.zero_grad()
    loss.backward()
    actor_opt.step()
# %% cell
log_probs, rewards = [], []
for t in range(16):
    dist = torch.distributions.Categorical(logits=actor(torch.randn(6)))
    action = dist.sample()
    log_probs.append(dist.log_prob(action))
    rewards.append(float(action == 1))
returns = torch.tensor(rewards)
advantages = (returns - returns.mean()) / (returns.std() + 1e-6)
for ppo_epoch in range(4):
    update(log_probs, advantages)
