# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# cause: a python list of tensors built in a loop: each sentence's embeddings pooled to one vector before the stack
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
embed = nn.Embedding(40, 6)
sentences = [[4, 9, 12], [7, 3], [15, 2, 8, 30], [1, 5, 6]]
labels = torch.tensor([0, 1, 1, 0])
# %% cell
head = nn.Linear(6, 2)
opt = torch.optim.Adam(list(embed.parameters()) + list(head.parameters()))
vectors = []
for tokens in sentences:
    vectors.append(embed(torch.tensor(tokens)).mean(dim=0))
batch = torch.stack(vectors)
opt.zero_grad()
nn.functional.cross_entropy(head(batch), labels).backward()
opt.step()
