# pitfall: weights-only-load
# kind: error
# line: 1
# source: a checkpoint that stores the argparse hyper-parameters next to the weights (written before torch 2.6)
# %% setup
import argparse
import io
import torch
import torch.nn as nn

def build(hp):
    return nn.Sequential(nn.Linear(hp.in_dim, hp.hidden), nn.Tanh(), nn.Linear(hp.hidden, 1))

_hp = argparse.Namespace(in_dim=10, hidden=32, lr=3e-4, epochs=40)
_buf = io.BytesIO()
torch.save({"hparams": _hp, "state_dict": build(_hp).state_dict(), "epoch": 40}, _buf)
checkpoint_bytes = _buf.getvalue()
# %% cell
ckpt = torch.load(io.BytesIO(checkpoint_bytes))
hp = ckpt["hparams"]
model = build(hp)
model.load_state_dict(ckpt["state_dict"])
print(f"restored epoch {ckpt['epoch']} with hidden={hp.hidden}")
