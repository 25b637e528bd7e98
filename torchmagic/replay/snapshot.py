"""Host-memory snapshots of the namespace a cell reads, for reruns and rescue files.

Before a cell runs on the GPU, the names it can read are copied to host memory (tensors,
and the modules, optimizers and containers that hold them, with their sharing kept).
After a failure the cell can be rerun on the CPU in a *shadow* namespace built from the
snapshot, so the rerun can neither touch the user's objects nor the snapshot itself.
When the CUDA context is poisoned, the snapshot can be written to a rescue file and
loaded back after a kernel restart into freshly re-created objects.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import reduction
from ..diagnosis import describe, safe_str
from .copying import HostBuffers, _Block, _Copier, _CopyError, _Reach, _is_shareable, _reach
from .rng import RngState, capture_rng


@dataclass
class Snapshot:
    """Host-memory copies of what a cell can read, taken before it ran."""

    values: dict[str, Any]  # host-memory (CPU) copies, by name
    left_out: dict[str, str]  # name -> why it was not copied (too large, unpicklable, ...)
    nbytes: int  # bytes of tensor (and numpy array) data copied
    seconds: float  # time it took
    rng: RngState  # torch CPU, torch CUDA (all devices, if CUDA initialised), numpy, random
    _source: Any = field(default=None, repr=False, compare=False)  # the namespace it was taken from
    _buffers: list[Any] = field(default_factory=list, repr=False, compare=False)  # host storages made
    shared_classes: list[str] = field(default_factory=list, repr=False, compare=False)  # see shadow_namespace
    recreated: dict[type, type] = field(default_factory=dict, repr=False, compare=False)  # see shadow_namespace

    def retire(self) -> "HostBuffers":
        """Give the copies up (the snapshot keeps its figures only) and hand their host
        buffers on to the next snapshot."""
        buffers, self._buffers = self._buffers, []
        self.values = {}
        self._source = None
        return HostBuffers(buffers)

    def shadow_namespace(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """A fresh namespace for a rerun: fresh copies of the snapshot values (so a rerun can't
        touch the snapshot either), plus shallow references to everything else of `base` that is
        safe to share (modules like torch/np, functions, classes, ints, strings...). Never the
        user's own mutable tensors/modules/optimizers.

        Functions defined in the user's namespace are re-created with the shadow namespace as
        their globals, so that calling them in the rerun reads the copies; so are the user's
        classes (a `type` or `ABCMeta` class, or an `autograd.Function`), with their methods,
        and the copies of their instances are instances of the new classes. A class that
        cannot be re-created stays shared and is named in `shared_classes`.
        """
        shadow: dict[str, Any] = {}
        rebind = {id(base): shadow}
        if self._source is not None:
            rebind[id(self._source)] = shadow
        copier = _Copier(rebind)
        with reduction.reading(base, self._source):
            for name, value in self.values.items():
                shadow[name] = copier.copy(value)
            for name, value in base.items():
                if name in shadow or name in self.left_out:
                    continue
                if name == "__builtins__":
                    shadow[name] = value
                elif _is_shareable(value):
                    shadow[name] = copier.copy(value)
        self.shared_classes = sorted(set(copier.shared_classes))
        self.recreated = copier.recreated  # for pickling: a copy pickles as the user's class
        return shadow


def take_snapshot(namespace: Mapping[str, Any], names: Iterable[str], limit_bytes: int,
                  spare: "HostBuffers | None" = None) -> Snapshot:
    """Copy to host memory what the cell can reach among `names`: tensors (directly, or inside
    modules, optimizers, lists, dicts, tuples, attributes of plain objects), keeping the object
    structure (a module stays a module, an optimizer stays bound to the copied module's
    parameters). Skip names whose values hold no tensors and are immutable (ints, strings,
    functions, classes, modules) — they are shared by reference. Mutable containers without
    tensors (lists, dicts, numpy arrays) are deep-copied. Stop at the size limit and record
    what was left out and why. Never modify the user's objects.

    Functions among `names` defined in `namespace` bring in the global names they use, since
    a rerun that calls them reads those too. When not everything fits under `limit_bytes`,
    the biggest names are left out first. `spare`: buffers of a retired snapshot to copy into.
    """
    with reduction.reading(namespace):
        return _take_snapshot(namespace, names, limit_bytes, spare)


def _take_snapshot(namespace: Mapping[str, Any], names: Iterable[str], limit_bytes: int,
                   spare: "HostBuffers | None") -> Snapshot:
    start = time.perf_counter()
    rng = capture_rng()
    left_out: dict[str, str] = {}
    reach: dict[str, _Reach] = {}
    order: list[str] = []
    pending = [n for n in dict.fromkeys(names) if n in namespace]
    seen: set[str] = set()
    while pending:
        name = pending.pop(0)
        if name in seen:
            continue
        seen.add(name)
        value = namespace[name]
        try:
            found = _reach(value, namespace)
        except Exception as exc:  # one object that cannot be read costs that name, not the snapshot
            left_out[name] = _why_not_copied(exc)
            continue
        pending += sorted(n for n in found.global_names if n in namespace and n not in seen)
        if _is_shareable(value):
            continue
        reach[name] = found
        order.append(name)

    chosen, blocks = _fit_under_limit(order, reach, limit_bytes, left_out)
    copier = _Copier(whole={k for k, b in blocks.items() if b.whole}, spare=spare)
    values: dict[str, Any] = {}
    for name in chosen:
        mark = copier.checkpoint()
        try:
            values[name] = copier.copy(namespace[name])
        except Exception as exc:  # anything a user object's copy protocol may raise
            copier.rollback(mark)
            left_out[name] = _why_not_copied(exc)
    # Objects that copy themselves (``__deepcopy__``) may have kept a tensor off the host.
    for name in list(values):
        stray = _reach(values[name]).devices - {"cpu", "meta"}
        if stray:
            del values[name]
            left_out[name] = f"holds tensors on {', '.join(sorted(stray))} that could not be copied to host memory"
    return Snapshot(
        values=values,
        left_out=left_out,
        nbytes=copier.nbytes,
        seconds=time.perf_counter() - start,
        rng=rng,
        _source=namespace,
        _buffers=list(copier.storages.values()),
    )


def _fit_under_limit(
    order: list[str], reach: dict[str, _Reach], limit: int | None, left_out: dict[str, str]
) -> tuple[list[str], dict[Any, _Block]]:
    """The names to copy, smallest first while the data they add stays under `limit`, and
    the blocks of data they reach together."""
    taken: dict[Any, _Block] = {}
    chosen: set[str] = set()
    for name in sorted(order, key=lambda n: (reach[n].nbytes, order.index(n))):
        blocks = reach[name].blocks
        extra = sum(
            (taken[k].merged(b).cost - taken[k].cost) if k in taken else b.cost for k, b in blocks.items()
        )
        used = sum(b.cost for b in taken.values())
        if limit is not None and limit >= 0 and used + extra > limit:
            left_out[name] = (
                f"too large: {_format_bytes(reach[name].nbytes)} of data "
                f"would pass the snapshot limit of {_format_bytes(limit)}"
                + (f" ({_format_bytes(used)} already taken)" if used else "")
            )
            continue
        for k, b in blocks.items():
            taken[k] = taken[k].merged(b) if k in taken else b
        chosen.add(name)
    return [n for n in order if n in chosen], taken


def _why_not_copied(exc: BaseException) -> str:
    if isinstance(exc, _CopyError):
        return safe_str(exc)
    if isinstance(exc, RecursionError):
        return "too deeply nested to copy"
    return f"cannot be copied: {describe(exc)}"


def _format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


