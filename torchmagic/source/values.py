"""Questions put to live objects without running user code: is this a tensor, a module, an
array; what does an attribute hold; what does a dotted torch/numpy path name."""
from __future__ import annotations

import importlib
import inspect
import types
import warnings
from typing import Any

MISSING: Any = object()

_IMPORTABLE = {"torch", "numpy", "copy", "math", "random"}


def torch_module() -> Any:
    """torch, imported on first use: nothing is imported when the extension loads."""
    import torch

    return torch


def is_tensor(value: Any) -> bool:
    """Whether `value` is a torch.Tensor (without importing torch for non-torch objects)."""
    return type(value).__module__.startswith("torch") and isinstance(value, torch_module().Tensor)


def is_module(value: Any) -> bool:
    """Whether `value` is an nn.Module instance."""
    if isinstance(value, type):
        return False
    try:
        return isinstance(value, torch_module().nn.Module)
    except Exception:
        return False


def is_ndarray(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def safe_getattr(obj: Any, attr: str) -> Any:
    """`obj.attr` where reading it runs no user code; MISSING otherwise."""
    try:
        if isinstance(obj, types.ModuleType):
            found = vars(obj).get(attr, MISSING)
            if found is not MISSING:
                return found
            with warnings.catch_warnings():  # a module __getattr__ may warn (deprecated names)
                warnings.simplefilter("ignore")
                return getattr(obj, attr, MISSING)
        if isinstance(obj, type):
            return inspect.getattr_static(obj, attr, MISSING) if attr not in vars(obj) else vars(obj)[attr]
        if is_module(obj):
            d = vars(obj)
            if attr in d:
                return d[attr]
            for store in ("_parameters", "_buffers", "_modules"):
                if attr in d.get(store, {}):
                    return d[store][attr]
            static = inspect.getattr_static(obj, attr, MISSING)
            if isinstance(static, (types.FunctionType, types.BuiltinFunctionType)):
                return getattr(obj, attr)
            return MISSING
        if is_tensor(obj):
            if attr in ("grad_fn", "requires_grad", "is_leaf", "shape", "dtype", "device", "grad"):
                return getattr(obj, attr)
            return MISSING
        d = getattr(obj, "__dict__", None)
        if isinstance(d, dict) and attr in d:
            return d[attr]
    except Exception:
        return MISSING
    return MISSING


def import_path(path: str) -> Any:
    """The object at a dotted path inside torch/numpy/copy/math/random, or MISSING."""
    parts = path.split(".")
    if parts[0] not in _IMPORTABLE:
        return MISSING
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, MISSING)
            if obj is MISSING:
                return MISSING
        return obj
    return MISSING
