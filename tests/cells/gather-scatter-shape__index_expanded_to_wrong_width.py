# pitfall: gather-scatter-shape
# kind: error
# line: 3
# source: written for the test suite
# shape: top
# %% setup
import torch
torch.manual_seed(0)
frames = torch.randn(8, 20, 32)            # clips x time steps x features
onsets = torch.randint(0, 20, (8,))        # the time step of each clip's event
n_mels = 40
# %% cell
def frame_at(seq, steps):
    picks = steps.view(-1, 1, 1)
    picks = picks.expand(seq.size(0), 1, n_mels)
    return seq.gather(1, picks).squeeze(1)

event_features = frame_at(frames, onsets)
