# pitfall: numpy-requires-grad
# kind: error
# line: 9
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
pixels = torch.randn(200, 3)
mask = (pixels[:, 0] + 0.5 * pixels[:, 2] > 0).long()

def soft_dice(pred, target):
    overlap = (pred * target).sum()
    score = 2 * overlap / (pred.sum() + target.sum())
    return score.numpy()
# %% cell
segmenter = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.Adam(segmenter.parameters(), lr=1e-2)
for step in range(20):
    logits = segmenter(pixels)
    loss = F.cross_entropy(logits, mask)
    opt.zero_grad()
    loss.backward()
    opt.step()
probs = torch.softmax(logits, dim=1)
print("dice", soft_dice(probs[:, 1], mask.float()))
