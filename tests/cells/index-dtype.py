# pitfall: index-dtype
# kind: error
# line: 5, 7
# source: a DQN update where the replay buffer stores actions in the same float array as rewards
# %% setup
import numpy as np
import torch
import torch.nn as nn
rng = np.random.default_rng(0)
buffer = np.column_stack([rng.integers(0, 4, 128), rng.normal(size=128)])   # (action, reward) rows
states = torch.randn(128, 8)
# %% cell
q_net = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 4))
optimizer = torch.optim.Adam(q_net.parameters(), lr=1e-3)
batch = rng.choice(128, size=32, replace=False)
transitions = torch.from_numpy(buffer[batch])
actions, rewards = transitions[:, 0], transitions[:, 1].float()
q_values = q_net(states[batch])
q_taken = q_values.gather(1, actions.unsqueeze(1)).squeeze(1)
loss = nn.functional.smooth_l1_loss(q_taken, rewards)
optimizer.zero_grad()
loss.backward()
optimizer.step()
