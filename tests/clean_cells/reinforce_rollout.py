# pitfall: none
# kind: clean
# line: 0
# source: REINFORCE: the rollout loop needs the graph, the update comes after the loop
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% cell
policy = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
for episode in range(2):
    state = torch.randn(4)
    log_probs, rewards = [], []
    for t in range(10):
        dist = torch.distributions.Categorical(logits=policy(state))
        action = dist.sample()
        log_probs.append(dist.log_prob(action))
        rewards.append(1.0 if action.item() == 0 else 0.0)
        state = torch.randn(4)
    returns = torch.tensor([sum(rewards[i:]) for i in range(len(rewards))])
    loss = -(torch.stack(log_probs) * returns).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(loss.item())
