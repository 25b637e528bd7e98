# pitfall: target-out-of-range
# kind: error
# line: 2, 6
# source: semi-supervised batch: unlabelled images carry the label -1, the loss was not told to skip them
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
images = torch.randn(32, 3 * 16 * 16)
labels = torch.randint(0, 10, (32,))
labels[torch.rand(32) < 0.3] = -1             # no label for these
# %% cell
classifier = nn.Sequential(nn.Linear(3 * 16 * 16, 64), nn.ReLU(), nn.Linear(64, 10))
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
opt = torch.optim.SGD(classifier.parameters(), lr=0.05)
for epoch in range(2):
    logits = classifier(images)
    loss = loss_fn(logits, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
