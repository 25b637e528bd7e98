# pitfall: state-dict-keys
# kind: error
# line: 2
# source: passing the whole training checkpoint (epoch, optimizer, ...) to load_state_dict
# %% setup
import io
import torch
import torch.nn as nn
torch.manual_seed(0)
_net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 1))
_opt = torch.optim.SGD(_net.parameters(), lr=0.1)
_buf = io.BytesIO()
torch.save({"epoch": 12, "model_state": _net.state_dict(), "optim_state": _opt.state_dict(),
            "val_loss": 0.031}, _buf)
ckpt_bytes = _buf.getvalue()
# %% cell
net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 1))
net.load_state_dict(torch.load(io.BytesIO(ckpt_bytes)))
print(net(torch.randn(3, 10)))
