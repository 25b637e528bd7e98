# pitfall: gather-scatter-shape
# kind: error
# line: 3
# source: building one-hot targets for label smoothing with scatter_
# %% setup
import torch
import torch.nn.functional as F
torch.manual_seed(0)
logits = torch.randn(16, 10, requires_grad=True)
labels = torch.randint(0, 10, (16,))
# %% cell
eps, n_classes = 0.1, logits.size(1)
smooth = torch.full_like(logits, eps / (n_classes - 1))
smooth.scatter_(1, labels, 1 - eps)
loss = -(smooth * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
loss.backward()
print(loss.item())
