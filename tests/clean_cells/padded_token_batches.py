# pitfall: none
# kind: clean
# line: 0
# source: sentences of different lengths padded by a collate_fn, with their lengths
# %% setup
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset, DataLoader
sentences = ["the cat sat", "a dog", "birds fly south in winter", "hello"]
vocab = {w: i + 1 for i, w in enumerate(sorted({w for s in sentences for w in s.split()}))}
class SentenceDataset(Dataset):
    def __len__(self):
        return len(sentences)
    def __getitem__(self, i):
        ids = torch.tensor([vocab[w] for w in sentences[i].split()])
        return ids, len(ids)
def pad_batch(batch):
    ids, lengths = zip(*batch)
    return pad_sequence(ids, batch_first=True, padding_value=0), torch.tensor(lengths)
# %% cell
loader = DataLoader(SentenceDataset(), batch_size=2, shuffle=False, collate_fn=pad_batch)
for ids, lengths in loader:
    print(ids.shape, lengths.tolist())
