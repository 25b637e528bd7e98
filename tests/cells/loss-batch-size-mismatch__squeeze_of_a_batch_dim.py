# pitfall: loss-batch-size-mismatch
# kind: error
# line: 5
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(15)
embeddings = TensorDataset(torch.randn(64, 1, 48), torch.randint(0, 3, (64,)))
head = nn.Linear(48, 3)
# %% cell
loader = DataLoader(embeddings, batch_size=16, shuffle=True)
opt = torch.optim.SGD(head.parameters(), lr=0.1)
for feats, label in loader:
    opt.zero_grad()
    feats = feats.squeeze(0)
    logits = head(feats).mean(0)
    nn.functional.cross_entropy(logits, label).backward()
    opt.step()
