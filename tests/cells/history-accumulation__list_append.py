# pitfall: history-accumulation
# kind: silent
# line: 10
# source: keeping every batch loss of a segmentation run for a later plot
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
images = torch.randn(48, 1, 16, 16)
masks = (torch.rand(48, 1, 16, 16) > 0.5).float()
# %% cell
seg_net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 1))
optimizer = torch.optim.Adam(seg_net.parameters(), lr=1e-3)
batch_losses = []
for i in range(0, 48, 8):
    logits = seg_net(images[i:i + 8])
    loss = F.binary_cross_entropy_with_logits(logits, masks[i:i + 8])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    batch_losses.append(loss)
print("mean loss", torch.stack(batch_losses).mean().item())
