# pitfall: no-grad-fn
# kind: error
# line: 6
# source: written for the test suite
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
policy = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
critic = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
states, actions, returns = torch.randn(10, 4), torch.randint(0, 2, (10,)), torch.randn(10)
# %% cell
with torch.no_grad():
    advantages = returns - critic(states).squeeze(1)

dist = torch.distributions.Categorical(logits=policy(states))
chosen = dist.log_prob(actions)
log_probs = torch.tensor([chosen[i].item() for i in range(len(actions))])
loss = -(log_probs * advantages).mean()
optimizer.zero_grad()
loss.backward()
optimizer.step()
