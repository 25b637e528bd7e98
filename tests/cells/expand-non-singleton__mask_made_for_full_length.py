# pitfall: expand-non-singleton
# kind: error
# line: 6
# source: written for the test suite
# shape: helper
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)


def padding_mask(lengths, width):
    return (torch.arange(width)[None, :] < lengths[:, None]).view(len(lengths), 1, width)


class Pool(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, h, mask):
        w = self.score(h).transpose(1, 2)                      # (B, 1, T)
        w = w.masked_fill(~mask.expand(h.size(0), 1, h.size(1)), float("-inf"))
        return (w.softmax(-1) @ h).squeeze(1)


pool = Pool(8)
max_len = 20
# %% cell
sentences = [torch.randn(n, 8) for n in (5, 9, 7)]
lengths = torch.tensor([len(s) for s in sentences])
batch = nn.utils.rnn.pad_sequence(sentences, batch_first=True)
print(batch.shape)

mask = padding_mask(lengths, max_len)
summary = pool(batch, mask)
