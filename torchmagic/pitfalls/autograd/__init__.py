"""Autograd pitfalls: in-place changes of saved tensors, freed graphs, lost history, NaN in
backward, gradients that add up, graphs kept alive, misspelt requires_grad, targets with history."""
from . import lint  # noqa: F401
from . import inplace  # noqa: F401
from . import backward  # noqa: F401
from . import history  # noqa: F401
from . import checks  # noqa: F401
