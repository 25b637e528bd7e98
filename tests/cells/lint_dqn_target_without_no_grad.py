# pitfall: target-requires-grad
# kind: silent
# line: 3
# source: the bootstrap target of a DQN update computed with the target network's graph
# shape: top
# %% setup
import copy
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
q_net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
target_net = copy.deepcopy(q_net)
states, next_states, rewards = torch.randn(32, 4), torch.randn(32, 4), torch.randn(32)
optimizer = torch.optim.Adam(q_net.parameters(), lr=1e-3)
# %% cell
for update in range(3):
    q_values = q_net(states).max(1)[0]
    target = rewards + 0.99 * target_net(next_states).max(1)[0]
    loss = F.mse_loss(q_values, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
