# pitfall: load-map-location
# kind: error
# line: 2
# requires: nocuda
# source: weights trained on a GPU server, evaluated on a CPU-only laptop
# %% setup
import io
import os
import tempfile
import zipfile
import torch
import torch.nn as nn

def make_detector():
    return nn.Sequential(nn.Linear(24, 48), nn.ReLU(), nn.Linear(48, 2))

def _as_saved_on_gpu(data: bytes) -> bytes:
    # rewrite the storage locations so the file reads exactly like one written from cuda:0
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                blob = blob.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            dst.writestr(info, blob)
    return out.getvalue()

_buf = io.BytesIO()
torch.save(make_detector().state_dict(), _buf)
WEIGHTS = os.path.join(tempfile.mkdtemp(), "fraud_detector.pt")
with open(WEIGHTS, "wb") as fh:
    fh.write(_as_saved_on_gpu(_buf.getvalue()))
transactions = torch.randn(10, 24)
# %% cell
detector = make_detector()
detector.load_state_dict(torch.load(WEIGHTS))
detector.eval()
with torch.no_grad():
    print(detector(transactions).argmax(1))
