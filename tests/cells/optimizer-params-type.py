# pitfall: optimizer-params-type
# kind: error
# line: 3
# source: an autoencoder's two halves collected as a list of .parameters() generators
# %% setup
import torch
import torch.nn as nn
# %% cell
encoder = nn.Linear(10, 4)
decoder = nn.Linear(4, 10)
trainable = [encoder.parameters(), decoder.parameters()]
optimizer = torch.optim.Adam(trainable, lr=1e-3)
