# pitfall: shape-mismatch
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(24)
BATCH = 16
captions, images = torch.randn(50, 12), torch.randn(50, 12)
text_tower, image_tower = nn.Linear(12, 8), nn.Linear(12, 8)

def contrastive_loss(t, v):
    logits = t @ v.T
    labels_matrix = torch.eye(BATCH)
    return ((logits - labels_matrix) ** 2).mean()
# %% cell
loader = DataLoader(TensorDataset(captions, images), batch_size=BATCH, shuffle=True)
opt = torch.optim.Adam(list(text_tower.parameters()) + list(image_tower.parameters()), lr=1e-3)
for text, image in loader:
    loss = contrastive_loss(text_tower(text), image_tower(image))
    opt.zero_grad()
    loss.backward()
    opt.step()
