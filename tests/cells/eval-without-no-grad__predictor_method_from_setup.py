# pitfall: eval-without-no-grad
# kind: silent
# line: 2
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
class Predictor:
    def __init__(self, model):
        self.model = model.eval()
    def predict_all(self, batches):
        return [self.model(b).argmax(1) for b in batches]
batches = [torch.randn(8, 5) for _ in range(4)]
# %% cell
p = Predictor(nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)))
preds = p.predict_all(batches)
print(torch.cat(preds).shape)
