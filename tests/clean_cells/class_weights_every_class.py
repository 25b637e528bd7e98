# pitfall: none
# kind: clean
# line: 0
# source: inverse-frequency weights with one entry for every class, also those missing from the split
# %% setup
import collections
import torch
import torch.nn as nn
torch.manual_seed(0)
train_labels = [0, 1, 1, 2, 0, 1, 2, 2, 1, 0]
num_classes = 4
# %% cell
freq = collections.Counter(train_labels)
inv = [len(train_labels) / max(freq[c], 1) for c in range(num_classes)]
weights = torch.tensor(inv, dtype=torch.float32)
criterion = nn.CrossEntropyLoss(weight=weights)
logits = torch.randn(10, num_classes, requires_grad=True)
loss = criterion(logits, torch.tensor(train_labels))
loss.backward()
print(loss.item())
