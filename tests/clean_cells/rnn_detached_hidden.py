# pitfall: none
# kind: clean
# line: 0
# source: truncated backpropagation through time with the hidden state detached between chunks
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
series = torch.sin(torch.linspace(0, 20, 401)).view(1, -1, 1)
# %% cell
rnn = nn.GRU(input_size=1, hidden_size=16, batch_first=True)
readout = nn.Linear(16, 1)
params = list(rnn.parameters()) + list(readout.parameters())
optimizer = torch.optim.Adam(params, lr=1e-2)
hidden = None
total = 0.0
for start in range(0, 400, 50):
    x = series[:, start:start + 50]
    target = series[:, start + 1:start + 51]
    if hidden is not None:
        hidden = hidden.detach()
    out, hidden = rnn(x, hidden)
    loss = nn.functional.mse_loss(readout(out), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    total += loss.item()
print(total / 8)
