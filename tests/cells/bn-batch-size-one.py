# pitfall: bn-batch-size-one
# kind: error
# line: 3, 7
# source: 97 samples with batch_size=32 leave a last batch of a single sample
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
tabular = TensorDataset(torch.randn(97, 12), torch.randint(0, 2, (97,)))
# %% cell
mlp = nn.Sequential(nn.Linear(12, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 2))
opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
loader = DataLoader(tabular, batch_size=32, shuffle=True)
for epoch in range(2):
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(mlp(xb), yb)
        loss.backward()
        opt.step()
    print(epoch, loss.item())
