# pitfall: none
# kind: clean
# line: 0
# source: detections per image stacked only when there are some
# %% setup
import torch
torch.manual_seed(0)
scores = torch.rand(10) * 0.4
boxes = torch.rand(10, 4)
# %% cell
kept = [boxes[i] for i in range(10) if scores[i] > 0.5]
batch = torch.stack(kept) if kept else torch.empty(0, 4)
print(batch.shape)
