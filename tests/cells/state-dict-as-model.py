# pitfall: state-dict-as-model
# kind: error
# line: 1
# source: a training checkpoint (epoch + weights) loaded and used directly as the model
# %% setup
import io
import torch
import torch.nn as nn
net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
buffer = io.BytesIO()
torch.save({"epoch": 7, "model_state": net.state_dict()}, buffer)
saved = buffer.getvalue()
# %% cell
model = torch.load(io.BytesIO(saved))
model.eval()
with torch.no_grad():
    print(model(torch.randn(2, 3)))
