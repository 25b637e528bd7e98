# pitfall: target-out-of-range
# kind: error
# line: 6
# source: written for the test suite
# cause: a helper from a setup cell turns 1-5 star ratings into class labels without shifting them
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
# %% setup
def encode_ratings(stars):
    """Review stars as class labels for the sentiment head."""
    return torch.tensor(stars, dtype=torch.long)
# %% cell
reviews = torch.randn(6, 16)
stars = [5, 3, 1, 4, 5, 2]
classifier = nn.Linear(16, 5)
logits = classifier(reviews)
loss_fn = nn.CrossEntropyLoss()
labels = encode_ratings(stars)
loss = loss_fn(logits, labels)
loss.backward()
