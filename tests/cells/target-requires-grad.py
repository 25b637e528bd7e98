# pitfall: target-requires-grad
# kind: silent
# line: 6, 7, 8
# source: DQN update: the TD target is computed with the online network and not detached
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
states = torch.randn(64, 4)
actions = torch.randint(0, 2, (64,))
rewards = torch.randn(64)
next_states = torch.randn(64, 4)
done = (torch.rand(64) < 0.1).float()
# %% cell
q_net = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(q_net.parameters(), lr=1e-3)
gamma = 0.99
for update in range(3):
    q_values = q_net(states).gather(1, actions.unsqueeze(1)).squeeze(1)
    next_q = q_net(next_states).max(dim=1).values
    td_target = rewards + gamma * (1 - done) * next_q
    loss = F.smooth_l1_loss(q_values, td_target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(update, loss.item())
