# pitfall: numpy-cuda-tensor
# kind: error
# line: 9, 10
# requires: cuda
# source: collecting test-set predictions on the GPU for a confusion matrix
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
test_batches = [(torch.randn(32, 20), torch.randint(0, 4, (32,))) for _ in range(3)]
# %% cell
device = torch.device("cuda")
model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4)).to(device)
model.eval()
all_preds, all_labels = [], []
with torch.no_grad():
    for xb, yb in test_batches:
        logits = model(xb.to(device))
        all_labels.append(yb.numpy())
        pred = logits.argmax(dim=1)
        all_preds.append(pred.numpy())
preds, labels = np.concatenate(all_preds), np.concatenate(all_labels)
confusion = np.zeros((4, 4), dtype=int)
np.add.at(confusion, (labels, preds), 1)
print(confusion)
