# pitfall: non-finite-values
# kind: silent
# line: 2
# source: written for the test suite
# shape: setup
# seen: run
# %% setup
import torch

def log_returns(prices):
    return torch.log(prices[1:] / prices[:-1])
# %% cell
closing = torch.tensor([101.0, 102.5, 0.0, 99.0, 98.5, 100.2])
returns = log_returns(closing)
volatility = returns.std()
print(f"volatility {volatility.item():.4f}")
