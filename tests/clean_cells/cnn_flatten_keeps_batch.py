# pitfall: none
# kind: clean
# line: 0
# source: a small CNN that flattens from dimension 1, keeping the batch size for the loss
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
        self.fc = nn.Linear(8 * 14 * 14, 10)
    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        x = torch.flatten(x, 1)
        return self.fc(x)
net = Net()
loss = nn.CrossEntropyLoss()(net(images), digits)
print(loss.item())
