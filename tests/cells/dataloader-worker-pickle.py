# pitfall: dataloader-worker-pickle
# kind: error
# line: 1, 10, 11
# source: Dataset class written in the notebook, DataLoader workers started with spawn (macOS/Windows default)
# %% setup
import torch
from torch.utils.data import Dataset, DataLoader
torch.manual_seed(0)
# %% cell
class SquaresDataset(Dataset):
    def __init__(self, n):
        self.x = torch.arange(n, dtype=torch.float32)
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        return self.x[i], self.x[i] ** 2

# "spawn" is the default start method on macOS and Windows
loader = DataLoader(SquaresDataset(64), batch_size=16, num_workers=1,
                    multiprocessing_context="spawn")
for xb, yb in loader:
    print(xb.shape, yb.sum().item())
