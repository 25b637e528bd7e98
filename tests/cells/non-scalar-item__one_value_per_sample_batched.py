# pitfall: non-scalar-item
# kind: error
# line: 1
# source: written for the test suite
# %% setup
import torch
from torch.utils.data import DataLoader, Dataset
torch.manual_seed(25)

class Recordings(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        length = 20 + i
        wave = torch.zeros(40)
        wave[:length] = torch.randn(length)
        return wave, torch.tensor(length)

def trimmed_energy(wave, length):
    n = int(length.item())
    return wave[..., :n].pow(2).mean()
# %% cell
loader = DataLoader(Recordings(), batch_size=4)
for wave, length in loader:
    print(trimmed_energy(wave, length))
