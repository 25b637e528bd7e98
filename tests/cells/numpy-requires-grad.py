# pitfall: numpy-requires-grad
# kind: error
# line: 2, 3
# source: picking an anomaly threshold from autoencoder reconstruction errors
# %% setup
import numpy as np
import torch
import torch.nn as nn
torch.manual_seed(0)
autoencoder = nn.Sequential(nn.Linear(30, 8), nn.ReLU(), nn.Linear(8, 30))
X_val = torch.randn(500, 30)
# %% cell
recon = autoencoder(X_val)
errors = ((recon - X_val) ** 2).mean(dim=1)
threshold = np.percentile(errors, 95)
flagged = (errors > threshold).sum().item()
print(f"threshold {threshold:.3f}, flagged {flagged}")
