# pitfall: loss-batch-size-mismatch
# kind: error
# line: 9
# source: a small CNN whose flatten size was guessed, folding feature maps into the batch dimension
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
images = torch.randn(8, 1, 28, 28)
digits = torch.randint(0, 10, (8,))
# %% cell
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 7 * 7, 10)
    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        x = x.view(-1, 8 * 7 * 7)
        return self.fc(x)
net = Net()
loss = nn.CrossEntropyLoss()(net(images), digits)
