# pitfall: tensor-aliasing
# kind: silent
# line: 1
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
states, next_states = torch.randn(64, 4), torch.randn(64, 4)
actions, rewards = torch.randint(0, 2, (64,)), torch.randn(64)

class Agent:
    def __init__(self, net, gamma=0.9):
        self.online = net
        self.target_net = net
        self.gamma = gamma
        self.opt = torch.optim.SGD(net.parameters(), lr=0.05)

    def update(self, s, a, r, s2):
        q = self.online(s).gather(1, a.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            target = r + self.gamma * self.target_net(s2).max(1).values
        loss = F.smooth_l1_loss(q, target)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()

    def sync(self):
        self.target_net.load_state_dict(self.online.state_dict())
# %% cell
agent = Agent(nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2)))
for step in range(20):
    idx = torch.randint(0, 64, (16,))
    loss = agent.update(states[idx], actions[idx], rewards[idx], next_states[idx])
    if step % 10 == 9:
        agent.sync()
print(loss)
