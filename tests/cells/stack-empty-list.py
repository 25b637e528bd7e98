# pitfall: stack-empty-list
# kind: error
# line: 4
# source: spectrograms loaded from a folder that holds no files
# %% setup
import glob
import torch
# %% cell
pattern = "/nonexistent/spectrograms/*.pt"
paths = sorted(glob.glob(pattern))
specs = [torch.load(p) for p in paths]
batch = torch.stack(specs)
print(batch.shape)
