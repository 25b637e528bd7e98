# pitfall: none
# kind: clean
# line: 0
# source: purchase histories padded to one length before building a tensor
# %% setup
import torch
from torch.nn.utils.rnn import pad_sequence
histories = {"ana": [12, 7, 7, 31], "ben": [4, 18], "chen": [9, 9, 2, 40]}
# %% cell
users = list(histories)
sequences = [torch.tensor(histories[u]) for u in users]
item_ids = pad_sequence(sequences, batch_first=True, padding_value=0)
lengths = torch.tensor([len(s) for s in sequences])
print(item_ids.shape, lengths.tolist())
