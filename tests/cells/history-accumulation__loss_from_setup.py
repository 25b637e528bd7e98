# pitfall: history-accumulation
# kind: silent
# line: 6
# source: written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(13)
clips = torch.randn(40, 1, 64)
is_speech = torch.randint(0, 2, (40,)).float()

def train_batch(net, opt, x, y):
    opt.zero_grad()
    loss = nn.functional.binary_cross_entropy_with_logits(net(x).squeeze(1), y)
    loss.backward()
    opt.step()
    return loss
# %% cell
vad = nn.Sequential(nn.Conv1d(1, 4, 9, padding=4), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 1))
adam = torch.optim.Adam(vad.parameters(), lr=1e-3)
for epoch in range(3):
    epoch_loss = 0
    for i in range(0, 40, 10):
        epoch_loss += train_batch(vad, adam, clips[i:i + 10], is_speech[i:i + 10])
    print(epoch, float(epoch_loss) / 4)
