# pitfall: compile-toolchain-missing
# kind: error
# line: 5
# source: torch.compile's default backend on a machine whose configured C++ compiler does not exist
# %% setup
import torch
import torch._inductor.config as inductor_config
# %% cell
def smooth(x):
    return torch.sin(x) * 0.5 + x.cos()
fast_smooth = torch.compile(smooth)
with inductor_config.patch({"cpp.cxx": ("no-such-c++-compiler",)}):
    y = fast_smooth(torch.randn(16))
