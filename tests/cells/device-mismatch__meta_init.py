# pitfall: device-mismatch
# kind: error
# line: 1, 4
# source: a model built on the meta device to save memory; the weights are "loaded" but never materialised
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
pretrained = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64)).state_dict()
queries = torch.randn(4, 64)
# %% cell
with torch.device("meta"):
    encoder = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64))

encoder.load_state_dict(pretrained)
embeddings = encoder(queries)
print(embeddings.shape)
