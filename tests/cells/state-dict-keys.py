# pitfall: state-dict-keys
# kind: error
# line: 3
# source: weights saved from a torch.compile'd model, loaded into the plain model for inference
# %% setup
import io
import torch
import torch.nn as nn

class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.stem(x).mean(dim=(2, 3)))

_compiled = torch.compile(TinyResNet())
_buf = io.BytesIO()
torch.save(_compiled.state_dict(), _buf)
weights_bytes = _buf.getvalue()
# %% cell
state = torch.load(io.BytesIO(weights_bytes))
model = TinyResNet()
model.load_state_dict(state)
model.eval()
