# pitfall: optimizer-device
# kind: error
# line: 4, 5
# source: resuming fine-tuning: the checkpoint's optimizer was built over the head only
# %% setup
import io
import torch
import torch.nn as nn
torch.manual_seed(0)

def make_model():
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 5))

# stage 1 (earlier notebook run): backbone frozen, optimizer over the head only
_m = make_model()
_opt = torch.optim.AdamW(_m[4].parameters(), lr=1e-3)
_m(torch.randn(4, 32)).sum().backward()
_opt.step()
_buf = io.BytesIO()
torch.save({"model": _m.state_dict(), "optimizer": _opt.state_dict()}, _buf)
stage1_bytes = _buf.getvalue()
# %% cell
ckpt = torch.load(io.BytesIO(stage1_bytes))
model = make_model()
model.load_state_dict(ckpt["model"])
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)   # stage 2: unfreeze everything
optimizer.load_state_dict(ckpt["optimizer"])
x, y = torch.randn(16, 32), torch.randint(0, 5, (16,))
loss = nn.functional.cross_entropy(model(x), y)
loss.backward()
optimizer.step()
