"""Module and training pitfalls: layers the module does not register, train/eval mode,
evaluation that keeps graphs, dropout and softmax misuse, BatchNorm statistics and batches of
one, optimizers that miss parameters or hold state elsewhere, checkpoint keys."""
from . import lint  # noqa: F401
from . import errors  # noqa: F401
from . import checks  # noqa: F401
