# pitfall: weights-only-load
# kind: error
# line: 1
# source: the whole model object was pickled with torch.save(model, ...) instead of its state_dict
# %% setup
import os
import tempfile
import torch
import torch.nn as nn

MODEL_PATH = os.path.join(tempfile.mkdtemp(), "sentiment.pth")
torch.save(nn.Sequential(nn.Linear(300, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 2)), MODEL_PATH)
sentence_vectors = torch.randn(5, 300)
# %% cell
net = torch.load(MODEL_PATH)
net.eval()
with torch.no_grad():
    print(net(sentence_vectors).softmax(-1))
