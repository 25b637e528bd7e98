# pitfall: none
# kind: clean
# line: 0
# source: a batch dict split into the model's input and the label used by the loss
# %% setup
import torch
import torch.nn as nn
class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)
    def forward(self, features):
        return self.fc(features)
# %% cell
scorer = Scorer()
batch = {"features": torch.randn(4, 8), "label": torch.ones(4)}
scores = scorer(batch["features"]).squeeze(1)
loss = nn.functional.binary_cross_entropy_with_logits(scores, batch["label"])
loss.backward()
print(round(loss.item(), 4))
