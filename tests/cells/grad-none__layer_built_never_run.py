# pitfall: grad-none
# kind: error
# line: 5
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(14)
spectra, elements = torch.randn(24, 30), torch.randint(0, 5, (24,))

def clip_by_norm(model, limit=1.0):
    for name, p in model.named_parameters():
        norm = p.grad.norm()
        if norm > limit:
            p.grad.mul_(limit / norm)
# %% cell
class SpectrumNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(30, 32), nn.ReLU())
        self.uncertainty = nn.Linear(32, 1)
        self.classifier = nn.Linear(32, 5)

    def forward(self, x):
        return self.classifier(self.encoder(x))

net = SpectrumNet()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
loss = nn.functional.cross_entropy(net(spectra), elements)
loss.backward()
clip_by_norm(net)
opt.step()
