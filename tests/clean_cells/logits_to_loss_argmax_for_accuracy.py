# pitfall: none
# kind: clean
# line: 0
# source: the logits go to the loss, the argmax predictions only to the accuracy
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
model = nn.Linear(5, 4)
x, y = torch.randn(8, 5), torch.randint(0, 4, (8,))
# %% cell
logits = model(x)
predicted = logits.argmax(dim=1)
accuracy = (predicted == y).float().mean()
loss = F.cross_entropy(logits, y)
print(loss.item(), accuracy.item())
