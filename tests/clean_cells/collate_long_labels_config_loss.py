# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a collate function from a setup cell stacks class labels as int64; the loss instance comes from a config dict
# %% setup
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
torch.manual_seed(0)
# %% setup
experiment = {"lr": 0.05, "loss": nn.CrossEntropyLoss, "epochs": 2}
def collate_readings(samples):
    signals = torch.stack([torch.as_tensor(s, dtype=torch.float32) for s, _ in samples])
    labels = torch.tensor([label for _, label in samples], dtype=torch.long)
    return signals, labels
# %% cell
readings = [(torch.randn(12).tolist(), i % 3) for i in range(20)]
loader = DataLoader(readings, batch_size=5, collate_fn=collate_readings)
net = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 3))
criterion = experiment["loss"]()
opt = torch.optim.SGD(net.parameters(), lr=experiment["lr"])
for epoch in range(experiment["epochs"]):
    for signals, labels in loader:
        opt.zero_grad()
        criterion(net(signals), labels).backward()
        opt.step()
