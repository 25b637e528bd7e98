# pitfall: shape-mismatch
# kind: error
# line: 6, 12
# source: the MNIST example's x.view(-1, 320) kept after switching to 32x32 inputs
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
svhn_gray = torch.randn(10, 1, 32, 32)
# %% cell
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 320)
        return self.fc2(F.relu(self.fc1(x)))

print(Net()(svhn_gray).shape)
