# pitfall: invalid-probabilities
# kind: error
# line: 1
# source: sampling the next character from the model's raw scores instead of a softmax
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
char_model = nn.Linear(16, 30)
state = torch.randn(1, 16)
# %% cell
scores = char_model(state)
next_char = torch.multinomial(scores, num_samples=1)
