# pitfall: target-out-of-range
# kind: error
# line: 3, 5, 7
# requires: cuda
# source: GPU run of unlabelled (-1) reviews: "device-side assert triggered" surfaces at loss.item(); the CPU rerun names the cause
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
review_vecs = torch.randn(256, 20)
sentiment = torch.randint(0, 3, (256,))        # 0 negative, 1 neutral, 2 positive
sentiment[::17] = -1                            # -1 marks reviews nobody labelled
# %% cell
device = torch.device("cuda")
model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3)).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = review_vecs.to(device), sentiment.to(device)
for step in range(5):
    loss = criterion(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(step, loss.item())
