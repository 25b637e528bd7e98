# pitfall: ambiguous-bool
# kind: error
# line: 4
# source: labels passed positionally into a forward's flag parameter, written for the test suite
# shape: setup
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)


class Segmenter(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x, flip=False):
        if flip:
            x = x.flip(-1)
        return self.conv(x)


images, masks = torch.randn(2, 3, 8, 8), torch.randint(0, 4, (2, 8, 8))
# %% cell
net = Segmenter()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for _ in range(2):
    logits = net(images, masks)
    loss = F.cross_entropy(logits, masks)
    opt.zero_grad()
    loss.backward()
    opt.step()
