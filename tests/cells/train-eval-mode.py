# pitfall: train-eval-mode
# kind: silent
# line: 8, 9
# source: test accuracy of a BatchNorm CNN measured right after training, still in train mode
# shape: top
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
train_x, train_y = torch.randn(128, 1, 12, 12), torch.randint(0, 10, (128,))
test_x, test_y = torch.randn(64, 1, 12, 12), torch.randint(0, 10, (64,))
# %% cell
cnn = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                    nn.Dropout(0.3), nn.Linear(8 * 10 * 10, 10))
opt = torch.optim.Adam(cnn.parameters(), lr=1e-3)
for i in range(0, 128, 32):
    opt.zero_grad()
    F.cross_entropy(cnn(train_x[i:i + 32]), train_y[i:i + 32]).backward()
    opt.step()
with torch.no_grad():
    test_pred = cnn(test_x).argmax(dim=1)
print("test accuracy:", (test_pred == test_y).float().mean().item())
