# pitfall: none
# kind: clean
# line: 0
# source: a DQN update whose bootstrap target comes from the target network under no_grad
# %% setup
import copy
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
states, next_states = torch.randn(32, 4), torch.randn(32, 4)
actions, rewards, dones = torch.randint(0, 2, (32,)), torch.randn(32), torch.zeros(32)
# %% cell
q_net = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
target_net = copy.deepcopy(q_net)
optimizer = torch.optim.Adam(q_net.parameters(), lr=1e-3)
gamma = 0.99
for update in range(3):
    q_values = q_net(states).gather(1, actions.unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        next_q = target_net(next_states).max(1)[0]
        target = rewards + gamma * next_q * (1 - dones)
    loss = F.smooth_l1_loss(q_values, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(loss.item())
