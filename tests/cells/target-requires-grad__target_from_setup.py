# pitfall: target-requires-grad
# kind: silent
# line: 4
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(22)
obs, next_obs = torch.randn(32, 8), torch.randn(32, 8)
reward = torch.randn(32)

def td_target(value_net, nxt, r, gamma=0.95):
    return r + gamma * value_net(nxt).squeeze(-1)
# %% cell
critic = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
for update in range(3):
    target = td_target(critic, next_obs, reward)
    loss = nn.functional.mse_loss(critic(obs).squeeze(-1), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
