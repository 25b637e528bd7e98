# pitfall: collate-variable-length
# kind: error
# line: 1
# source: token ids of sentences of different lengths batched by the default collate; the Dataset is in an earlier cell
# %% setup
import torch
from torch.utils.data import Dataset, DataLoader
sentences = ["the cat sat", "a dog", "birds fly south in winter", "hello"]
vocab = {w: i + 1 for i, w in enumerate(sorted({w for s in sentences for w in s.split()}))}
class SentenceDataset(Dataset):
    def __len__(self):
        return len(sentences)
    def __getitem__(self, i):
        ids = torch.tensor([vocab[w] for w in sentences[i].split()])
        return ids, len(ids)
# %% cell
loader = DataLoader(SentenceDataset(), batch_size=2, shuffle=False)
for ids, lengths in loader:
    print(ids.shape)
