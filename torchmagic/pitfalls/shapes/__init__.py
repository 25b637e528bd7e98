"""Indexing and shape pitfalls: class labels and ids out of range, index dtypes, layer sizes,
channels, views, tensors where a scalar is meant."""
from . import indices  # noqa: F401
from . import sizes  # noqa: F401
