# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a helper from a setup cell shifts 1-5 star ratings to class labels 0-4
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% setup
def encode_ratings(stars):
    """Review stars (1..5) as class labels 0..4."""
    return torch.tensor(stars, dtype=torch.long) - 1
# %% cell
reviews = torch.randn(6, 16)
classifier = nn.Linear(16, 5)
opt = torch.optim.SGD(classifier.parameters(), lr=0.1)
labels = encode_ratings([5, 3, 1, 4, 5, 2])
opt.zero_grad()
loss = nn.CrossEntropyLoss()(classifier(reviews), labels)
loss.backward()
opt.step()
