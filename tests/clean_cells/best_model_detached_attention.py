# pitfall: none
# kind: clean
# line: 0
# source: keeping the best model while the attention pooling keeps detached weights for plotting
# %% setup
import copy
import torch
import torch.nn as nn
torch.manual_seed(0)
tokens = torch.randn(4, 7, 16)
labels = torch.randint(0, 3, (4,))
# %% cell
class AttnPool(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.score = nn.Linear(dim, 1)
        self.out = nn.Linear(dim, classes)
    def forward(self, x):
        weights = torch.softmax(self.score(x), dim=1)
        self.last_weights = weights.detach()     # values for plotting, no graph
        return self.out((weights * x).sum(1))
model = AttnPool(16, 3)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
best_loss, best_model = float("inf"), None
for epoch in range(2):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(tokens), labels)
    loss.backward()
    opt.step()
    if loss.item() < best_loss:
        best_loss, best_model = loss.item(), copy.deepcopy(model)
print(best_loss)
