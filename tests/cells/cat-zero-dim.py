# pitfall: cat-zero-dim
# kind: error
# line: 5
# source: per-class accuracies (0-d tensors) joined with torch.cat
# %% setup
import torch
torch.manual_seed(0)
labels = torch.randint(0, 3, (30,))
preds = torch.randint(0, 3, (30,))
# %% cell
per_class = []
for c in range(3):
    mask = labels == c
    per_class.append((preds[mask] == c).float().mean())
summary = torch.cat(per_class)
print(summary)
