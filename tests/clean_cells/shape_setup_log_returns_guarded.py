# pitfall: none
# kind: clean
# line: 0
# source: written for the test suite
# shape: setup
# %% setup
import torch

def log_returns(prices, eps=1e-8):
    prices = prices.clamp(min=eps)
    return torch.log(prices[1:] / prices[:-1])
# %% cell
closing = torch.tensor([101.0, 102.5, 101.7, 99.0, 98.5, 100.2])
returns = log_returns(closing)
print(f"volatility {returns.std().item():.4f}")
