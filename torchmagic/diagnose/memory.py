"""Out-of-memory diagnosis: the allocator's figures, the biggest tensors, graphs kept alive.

`oom_facts` reads the error message and the namespace (read-only) and returns the facts
the `cuda-oom` entry's detail sentences use; `release_cached_memory` gives the caching
allocator's unused blocks back after a failed cell so the user can go on.
"""
from __future__ import annotations

import gc
import re
from typing import Any, Mapping

_SIZE = r"([\d.]+ [KMGT]?i?B)"
_FIGURES = {
    "tried": re.compile(r"Tried to allocate " + _SIZE),
    "total": re.compile(r"total capacity of " + _SIZE),
    "free": re.compile(r"of which " + _SIZE + r" is free"),
    "allocated": re.compile(_SIZE + r" is allocated by PyTorch"),
    "reserved": re.compile(_SIZE + r" is reserved by PyTorch but unallocated"),
}


def human(nbytes: float) -> str:
    """2.00 GiB, 310.5 MiB, ..."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(nbytes) < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} TiB"


def oom_facts(message: str, namespace: Mapping[str, Any], limit: int = 5) -> dict[str, Any]:
    """Figures from the message, the namespace's biggest tensors and scalars that keep graphs."""
    import torch

    facts: dict[str, Any] = {}
    for key, pattern in _FIGURES.items():
        m = pattern.search(message)
        if m:
            facts[key] = m.group(1)
    tensors: list[tuple[int, str, Any]] = []
    history: list[tuple[str, Any]] = []
    for name, value in list(namespace.items()):
        if name.startswith("_") or not isinstance(value, torch.Tensor):
            continue
        nbytes = value.numel() * value.element_size()
        tensors.append((nbytes, name, value))
        if value.dim() == 0 and value.grad_fn is not None:
            history.append((name, value))
    tensors.sort(key=lambda t: -t[0])
    if tensors:
        facts["tensors"] = ", ".join(f"`{n}` {tuple(v.shape)} {human(b)} on {v.device}"
                                     for b, n, v in tensors[:limit])
    if history:
        name, value = history[0]
        facts.update(name=name, grad_fn=type(value.grad_fn).__name__)
    return facts


def best_detail(facts: Mapping[str, Any]) -> str:
    """The detail sentence that says most: a graph kept alive, then the big tensors, then figures."""
    if "grad_fn" in facts:
        return "history"
    if "line" in facts:
        return "no_grad"
    if "tensors" in facts:
        return "big_tensors"
    return "memory"


def release_cached_memory() -> int:
    """Collect garbage and return cached, unused CUDA blocks to the driver; bytes released."""
    gc.collect()
    try:
        import torch

        if not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return 0
        before = torch.cuda.memory_reserved()
        torch.cuda.empty_cache()
        return max(0, before - torch.cuda.memory_reserved())
    except Exception:
        return 0
