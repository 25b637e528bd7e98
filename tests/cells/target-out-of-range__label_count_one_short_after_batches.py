# pitfall: target-out-of-range
# kind: error
# line: 1, 2
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
settings = {"genres": 5, "width": 12}
# tracks of 8 frames; genre ids run 0..5, the last genre only in the final batch
frames = torch.randn(24, 8, 6)
genres = torch.cat([torch.randint(0, 5, (20,)), torch.tensor([5, 0, 5, 1])])


class TrackTagger(nn.Module):
    def __init__(self, n_genres, width):
        super().__init__()
        self.rnn = nn.GRU(6, width, batch_first=True)
        self.out = nn.Linear(width, n_genres)

    def forward(self, x):
        return self.out(self.rnn(x)[0])
# %% cell
n_genres = settings["genres"]
tagger = TrackTagger(n_genres, settings["width"])
opt = torch.optim.Adam(tagger.parameters(), lr=1e-3)
for i in range(0, 24, 4):
    scores = tagger(frames[i:i + 4])
    per_frame = genres[i:i + 4].repeat_interleave(8)
    loss = F.cross_entropy(scores.reshape(-1, scores.size(-1)), per_frame)
    opt.zero_grad()
    loss.backward()
    opt.step()
