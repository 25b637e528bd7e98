# pitfall: checkpoint-corrupt
# kind: error
# line: 2
# source: a repository cloned without git-lfs: the .pth file is the LFS pointer, not the weights
# %% setup
import os
import tempfile
import torch
import torch.nn as nn
repo = tempfile.mkdtemp()
with open(os.path.join(repo, "unet.pth"), "w") as fh:
    fh.write("version https://git-lfs.github.com/spec/v1\n"
             "oid sha256:4d7a2146f3a0b1c9e8d5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7081\n"
             "size 124556821\n")
# %% cell
model = nn.Conv2d(1, 1, 3)
state = torch.load(os.path.join(repo, "unet.pth"), weights_only=False)
model.load_state_dict(state)
