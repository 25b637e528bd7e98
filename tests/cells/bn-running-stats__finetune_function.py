# pitfall: bn-running-stats
# kind: silent
# line: 2, 5, 9
# source: written for the test suite
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(3)
spectrograms = torch.randn(32, 1, 20, 20) * 2 + 0.5
speakers = torch.randint(0, 3, (32,))
# %% cell
def finetune_head(backbone, head, xs, ys, epochs=2):
    backbone.requires_grad_(False)
    model = nn.Sequential(backbone, head)
    opt = torch.optim.SGD(head.parameters(), lr=0.05)
    model.train()
    for _ in range(epochs):
        for i in range(0, len(xs), 8):
            opt.zero_grad()
            F.cross_entropy(model(xs[i:i + 8]), ys[i:i + 8]).backward()
            opt.step()
    return model

audio_net = nn.Sequential(nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten())
audio_net.eval()
clf = finetune_head(audio_net, nn.Linear(8, 3), spectrograms, speakers)
print(audio_net[1].running_var[:3])
