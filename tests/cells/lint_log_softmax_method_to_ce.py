# pitfall: softmax-before-crossentropy
# kind: silent
# line: 1, 3
# source: log_softmax as a tensor method, then F.cross_entropy
# shape: top
# %% setup
import torch
import torch.nn.functional as F
logits = torch.randn(8, 3, requires_grad=True)
labels = torch.randint(0, 3, (8,))
# %% cell
log_probs = logits.log_softmax(dim=-1)
pred = log_probs.argmax(-1)
loss = F.cross_entropy(log_probs, labels)
loss.backward()
