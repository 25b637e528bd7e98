# pitfall: none
# kind: clean
# line: 0
# source: mp.spawn of a function imported from a file beside the notebook
# %% setup
import sys
import tempfile
import pathlib
folder = tempfile.mkdtemp()
pathlib.Path(folder, "spawn_target.py").write_text("def train(rank, world_size):\n    return rank + world_size\n")
sys.path.insert(0, folder)
import torch.multiprocessing as mp
# %% cell
from spawn_target import train
mp.spawn(train, args=(1,), nprocs=1, join=True)
