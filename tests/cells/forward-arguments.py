# pitfall: forward-arguments
# kind: error
# line: 3
# source: a whole batch dict unpacked into a model whose forward takes only the features
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
scores = scorer(**batch)
