# pitfall: state-dict-keys
# kind: error
# line: 3
# source: fine-tuning a 10-class checkpoint on a 3-class task by loading it into the new model
# %% setup
import io
import torch
import torch.nn as nn

def make_net(num_classes):
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, num_classes))

_buf = io.BytesIO()
torch.save(make_net(10).state_dict(), _buf)
pretrained_bytes = _buf.getvalue()
# %% cell
pretrained = torch.load(io.BytesIO(pretrained_bytes))
net = make_net(num_classes=3)
net.load_state_dict(pretrained)
