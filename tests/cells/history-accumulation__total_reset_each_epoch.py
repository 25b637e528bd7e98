# pitfall: history-accumulation
# kind: silent
# line: 9
# source: written for the test suite
# shape: top
# seen: run
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(17)
stock_windows, next_close = torch.randn(40, 8, 10), torch.randn(40, 8, 1)
# %% cell
forecaster = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(forecaster.parameters(), lr=1e-3)
epoch_loss = 0
for step in range(40):
    loss = nn.functional.mse_loss(forecaster(stock_windows[step]), next_close[step])
    opt.zero_grad()
    loss.backward()
    opt.step()
    epoch_loss = epoch_loss + loss
    if step % 8 == 7:
        print(float(epoch_loss) / 8)
        epoch_loss = 0
