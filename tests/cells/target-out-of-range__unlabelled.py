# pitfall: target-out-of-range
# kind: error
# line: 6
# source: semi-supervised data where unlabelled samples carry the label -1
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
feats = torch.randn(40, 12)
labels = torch.randint(0, 3, (40,))
labels[::4] = -1                               # not annotated yet
# %% cell
clf = nn.Linear(12, 3)
optimizer = torch.optim.SGD(clf.parameters(), lr=0.1)
for epoch in range(2):
    logits = clf(feats)
    optimizer.zero_grad()
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    optimizer.step()
