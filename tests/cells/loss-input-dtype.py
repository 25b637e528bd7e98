# pitfall: loss-input-dtype
# kind: error
# line: 2
# source: the predicted classes (argmax), meant for accuracy, passed to the loss instead of the logits
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
model = nn.Linear(5, 4)
x, y = torch.randn(8, 5), torch.randint(0, 4, (8,))
# %% cell
logits = model(x)
predicted = logits.argmax(dim=1, keepdim=True)
accuracy = (predicted.squeeze(1) == y).float().mean()
loss = F.cross_entropy(predicted, y)
