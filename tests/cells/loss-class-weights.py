# pitfall: loss-class-weights
# kind: error
# line: 2
# source: inverse-frequency weights from a Counter over a training split that happens to miss one class
# %% setup
import collections
import torch
import torch.nn as nn
torch.manual_seed(0)
train_labels = [0, 1, 1, 2, 0, 1, 2, 2, 1, 0]
num_classes = 4
# %% cell
freq = collections.Counter(train_labels)
inv = [len(train_labels) / freq[c] for c in sorted(freq)]
weights = torch.tensor(inv, dtype=torch.float32)
criterion = nn.CrossEntropyLoss(weight=weights)
logits = torch.randn(10, num_classes, requires_grad=True)
loss = criterion(logits, torch.tensor(train_labels))
