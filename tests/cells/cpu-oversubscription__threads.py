# pitfall: cpu-oversubscription
# kind: silent
# line: 13
# source: an ensemble trained member by member in Python threads, each using torch's full thread pool
# shape: function
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(4)
features, targets = torch.randn(256, 16), torch.randn(256, 1)
# %% cell
import threading

members = {}
def fit_member(seed):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(10):
        loss = nn.functional.mse_loss(net(features), targets)
        opt.zero_grad(); loss.backward(); opt.step()
    members[seed] = net

workers = [threading.Thread(target=fit_member, args=(s,)) for s in range(4)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(len(members), "members")
