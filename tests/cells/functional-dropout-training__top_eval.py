# pitfall: functional-dropout-training
# kind: silent
# line: 3
# source: written for the test suite
# shape: top
# seen: run
# %% setup
import torch
import torch.nn.functional as F
torch.manual_seed(4)
W1, b1 = torch.randn(20, 32) * 0.3, torch.zeros(32)
W2, b2 = torch.randn(32, 5) * 0.3, torch.zeros(5)
test_x = torch.randn(40, 20)
# %% cell
with torch.no_grad():
    hidden = torch.relu(test_x @ W1 + b1)
    hidden = F.dropout(hidden, p=0.3)
    predictions = (hidden @ W2 + b2).argmax(dim=1)
print(predictions[:10].tolist())
