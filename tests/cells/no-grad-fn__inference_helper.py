# pitfall: no-grad-fn
# kind: error
# line: 1, 6
# source: an encoding helper written for evaluation, decorated with inference_mode, reused to train
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(12, 24), nn.ReLU())
head = nn.Linear(24, 2)
signals, classes = torch.randn(40, 12), torch.randint(0, 2, (40,))
# %% cell
@torch.inference_mode()
def encode(batch):
    return encoder(batch)

opt = torch.optim.Adam(list(encoder.parameters()) + list(head.parameters()))
features = encode(signals)
loss = nn.functional.cross_entropy(head(features), classes)
loss.backward()
