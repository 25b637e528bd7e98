# pitfall: none
# kind: clean
# line: 0
# source: an autoencoder's two halves given to one optimizer as a flat list of tensors
# %% setup
import itertools
import torch
import torch.nn as nn
# %% cell
encoder = nn.Linear(10, 4)
decoder = nn.Linear(4, 10)
trainable = list(itertools.chain(encoder.parameters(), decoder.parameters()))
optimizer = torch.optim.Adam(trainable, lr=1e-3)
print(len(trainable))
