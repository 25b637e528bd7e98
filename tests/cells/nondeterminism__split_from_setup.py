# pitfall: nondeterminism
# kind: silent
# line: 1, 3
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import random
import torch
import torch.nn as nn
molecules = [torch.randn(9) for _ in range(60)]

def scaffold_split(items, frac=0.75):
    picked = list(range(len(items)))
    random.shuffle(picked)
    cut = int(len(items) * frac)
    return [items[i] for i in picked[:cut]], [items[i] for i in picked[cut:]]
# %% cell
torch.manual_seed(7)
property_head = nn.Linear(9, 1)
train_set, valid_set = scaffold_split(molecules)
with torch.no_grad():
    print(property_head(torch.stack(valid_set)).mean().item())
