# pitfall: none
# kind: clean
# line: 0
# source: a checkpoint written to a temporary name, renamed when complete, and loaded back
# %% setup
import os
import tempfile
import torch
import torch.nn as nn
folder = tempfile.mkdtemp()
# %% cell
net = nn.Linear(8, 2)
final_path = os.path.join(folder, "weights.pt")
partial_path = final_path + ".partial"
torch.save(net.state_dict(), partial_path)
os.replace(partial_path, final_path)
state = torch.load(final_path, map_location="cpu")
print(sorted(state))
