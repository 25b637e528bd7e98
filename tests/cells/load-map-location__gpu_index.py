# pitfall: load-map-location
# kind: error
# line: 1
# requires: cuda
# source: a checkpoint written by the process on GPU 3 of a training node, loaded on a single-GPU workstation
# %% setup
import io
import zipfile
import torch
import torch.nn as nn

def _as_saved_on(data: bytes, location: bytes) -> bytes:
    # rewrite the storage locations so the file reads exactly like one written from that GPU
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                blob = blob.replace(b"X\x03\x00\x00\x00cpu", b"X" + len(location).to_bytes(4, "little") + location)
            dst.writestr(info, blob)
    return out.getvalue()

_buf = io.BytesIO()
torch.save(nn.Linear(128, 10).state_dict(), _buf)
head_bytes = _as_saved_on(_buf.getvalue(), b"cuda:3")
# %% cell
state = torch.load(io.BytesIO(head_bytes))
head = nn.Linear(128, 10).cuda()
head.load_state_dict(state)
print(head.weight.device)
