# pitfall: functional-dropout-training
# kind: silent
# line: 9
# source: spatial dropout in a small segmentation encoder, called through torch.nn.functional
# shape: function
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
# %% cell
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.dropout2d(x, 0.2)
        return F.relu(self.conv2(x))

enc = Encoder()
enc.eval()
img = torch.randn(1, 3, 8, 8)
with torch.no_grad():
    print((enc(img) - enc(img)).abs().max().item())
