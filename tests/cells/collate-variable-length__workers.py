# pitfall: collate-variable-length
# kind: error
# line: 5, 6
# source: audio clips of different lengths batched in DataLoader worker processes
# %% setup
import torch
from torch.utils.data import Dataset, DataLoader
torch.manual_seed(0)
# %% cell
class ClipDataset(Dataset):
    def __len__(self):
        return 6
    def __getitem__(self, i):
        clip = torch.randn(1, 800 + 40 * i)
        return clip, i % 2

loader = DataLoader(ClipDataset(), batch_size=3, num_workers=2)
for clips, labels in loader:
    print(clips.shape)
