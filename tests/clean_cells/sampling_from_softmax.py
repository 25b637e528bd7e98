# pitfall: none
# kind: clean
# line: 0
# source: sampling from softmax probabilities, with a cut-off that always keeps the best candidate
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
char_model = nn.Linear(16, 30)
state = torch.randn(1, 16)
probs = torch.softmax(torch.randn(3, 12), -1)
# %% cell
with torch.no_grad():
    scores = char_model(state)
next_char = torch.multinomial(torch.softmax(scores, -1), num_samples=1)
keep = (probs >= 0.5) | (probs == probs.max(-1, keepdim=True).values)
filtered = probs * keep
choice = torch.multinomial(filtered, 1)
print(next_char.item(), choice.squeeze(1))
