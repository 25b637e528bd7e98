# pitfall: unregistered-submodule
# kind: silent
# line: 4, 6
# source: task heads stored in a plain dict
# shape: function
# %% setup
import torch
import torch.nn as nn
# %% cell
class MultiTask(nn.Module):
    def __init__(self, tasks):
        super().__init__()
        self.heads = {}
        for t in tasks:
            self.heads[t] = nn.Linear(16, 2)
        self.body = nn.Linear(8, 16)

    def forward(self, x):
        h = self.body(x)
        return {t: head(h) for t, head in self.heads.items()}

net = MultiTask(["a", "b"])
print(len(list(net.parameters())))
