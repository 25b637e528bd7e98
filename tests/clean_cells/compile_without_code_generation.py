# pitfall: none
# kind: clean
# line: 0
# source: torch.compile with the aot_eager backend, which needs no C++ compiler
# %% setup
import torch
# %% cell
def smooth(x):
    return torch.sin(x) * 0.5 + x.cos()
fast_smooth = torch.compile(smooth, backend="aot_eager")
x = torch.randn(16)
print(torch.allclose(fast_smooth(x), smooth(x)))
