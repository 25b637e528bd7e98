# pitfall: checkpoint-corrupt
# kind: error
# line: 1
# source: a "download" that saved the site's sign-in page under the checkpoint's name
# %% setup
import os
import tempfile
import torch
ckpt_path = os.path.join(tempfile.mkdtemp(), "weights.pt")
with open(ckpt_path, "w") as fh:
    fh.write("<!DOCTYPE html><html><body>Please sign in to continue</body></html>\n")
# %% cell
state = torch.load(ckpt_path, map_location="cpu")
print(len(state))
