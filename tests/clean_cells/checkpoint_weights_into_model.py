# pitfall: none
# kind: clean
# line: 0
# source: a training checkpoint whose weight entry is loaded into a freshly built model
# %% setup
import io
import torch
import torch.nn as nn
def make_net():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
buffer = io.BytesIO()
torch.save({"epoch": 7, "model_state": make_net().state_dict()}, buffer)
saved = buffer.getvalue()
# %% cell
checkpoint = torch.load(io.BytesIO(saved))
model = make_net()
model.load_state_dict(checkpoint["model_state"])
model.eval()
with torch.no_grad():
    print(model(torch.randn(2, 3)).shape)
