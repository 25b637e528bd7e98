# pitfall: dtype-mismatch
# kind: error
# line: 5
# source: per-feature weights loaded from a NumPy file into a module attribute in __init__
# %% setup
import numpy as np
import torch
import torch.nn as nn
feature_weights = np.linspace(0.5, 1.5, 6)      # saved by an earlier analysis, float64
readings = torch.randn(10, 6)
# %% cell
class WeightedRegressor(nn.Module):
    def __init__(self, weights):
        super().__init__()
        self.linear = nn.Linear(6, 1)
        self.weights = torch.as_tensor(weights)

    def forward(self, x):
        return self.linear(x * self.weights)

model = WeightedRegressor(feature_weights)
out = model(readings)
