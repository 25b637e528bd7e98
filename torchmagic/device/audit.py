"""The `%device audit` engine: every tensor, module, optimizer and list of tensors in the
user's namespace with its device, dtype, shape, size and graph history, largest first, and
the pitfalls they show (parameters on several devices, layers in plain lists, optimizer
state on another device, models left in training mode, lists of losses with graphs).

Read-only: objects are inspected, never called, moved or changed (an optimizer's state,
a defaultdict, is only iterated).
"""
from __future__ import annotations

import types
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from . import redirect
from .messages import text
from .render import View, view


@dataclass
class AuditFlag:
    """A problem the audit saw on one object."""

    pitfall: str
    name: str
    message: str


@dataclass
class AuditRow:
    """One tensor, module, optimizer or container of tensors in the namespace."""

    name: str
    kind: str  # "Tensor", "Parameter", the module/optimizer class, "list[Tensor]", ...
    category: str  # "tensor", "module", "optimizer" or "container"
    device: str  # "cpu", or "cpu, meta" when several
    dtype: str
    shape: str
    nbytes: int
    requires_grad: bool | None = None
    grad_fn: str = ""
    mode: str = ""  # modules: "train", "eval" or "mixed"
    params: int | None = None  # modules: parameter elements
    trainable: int | None = None  # modules: parameter elements that require grad
    flags: list[AuditFlag] = field(default_factory=list)


@view
class AuditReport(View):
    """What `%device audit` shows: the namespace's tensors, models and optimizers by size."""

    rows: list[AuditRow]
    totals: dict[str, int]  # bytes per device, shared storage counted once
    allocator: dict[str, int]  # bytes the torch allocator holds per device, where known
    language: str = "en"

    @property
    def flags(self) -> list[AuditFlag]:
        return [f for row in self.rows for f in row.flags]

    @property
    def pitfalls(self) -> list[str]:
        return sorted({f.pitfall for f in self.flags})

    def row(self, name: str) -> AuditRow | None:
        """The row for a namespace name, or None."""
        return next((r for r in self.rows if r.name == name), None)


def user_items(namespace: dict[str, Any], hidden: set[str]) -> Iterator[tuple[str, Any]]:
    """The user's own names: no '_' names, nothing IPython put there, no modules."""
    for name, value in list(namespace.items()):
        if not isinstance(name, str) or name.startswith("_") or name in hidden:
            continue
        try:
            if isinstance(value, types.ModuleType):
                continue
        except Exception:  # a proxy whose __class__ raises is nothing torch made
            continue
        yield name, value


def module_tensors(module: Any) -> list[Any]:
    return [t for _, t in module.named_parameters()] + [t for _, t in module.named_buffers()]


class _Storages:
    """Counts each storage once, per device."""

    def __init__(self) -> None:
        self.seen: dict[Any, tuple[str, int]] = {}

    def add(self, tensor: Any) -> int:
        """Record `tensor`'s storage; returns the bytes it adds (0 if already counted)."""
        key, device, nbytes = _storage_of(tensor)
        if key in self.seen:
            return 0
        self.seen[key] = (device, nbytes)
        return nbytes

    def bytes_of(self, tensors: Iterable[Any]) -> int:
        local: dict[Any, int] = {}
        for t in tensors:
            key, _, nbytes = _storage_of(t)
            local[key] = nbytes
            self.add(t)
        return sum(local.values())

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for device, nbytes in self.seen.values():
            out[device] = out.get(device, 0) + nbytes
        return out


def _storage_of(tensor: Any) -> tuple[Any, str, int]:
    device = str(tensor.device)
    try:
        storage = tensor.untyped_storage()
        return ("s", storage._cdata), device, int(storage.nbytes())
    except Exception:  # sparse, nested, lazy or wrapper tensors
        return ("t", id(tensor)), device, _tensor_bytes(tensor)


def _tensor_bytes(tensor: Any) -> int:
    try:
        return int(tensor.numel()) * int(tensor.element_size())
    except Exception:
        return 0


def _mode_sensitive_layers(module: Any) -> list[str]:
    """Class names of submodules that behave differently in training mode and are in it."""
    from torch import nn

    found: list[str] = []
    for sub in module.modules():
        if not sub.training:
            continue
        sensitive = isinstance(sub, nn.modules.dropout._DropoutNd) and sub.p > 0
        sensitive |= isinstance(sub, nn.modules.batchnorm._BatchNorm)
        sensitive |= (isinstance(sub, nn.modules.instancenorm._InstanceNorm)
                      and bool(sub.track_running_stats))
        sensitive |= isinstance(sub, nn.RNNBase) and float(sub.dropout) > 0
        sensitive |= isinstance(sub, nn.MultiheadAttention) and float(sub.dropout) > 0
        name = type(sub).__name__
        if sensitive and name not in found:
            found.append(name)
    return found


def _module_internals() -> set[str]:
    from torch import nn

    return set(vars(nn.Module()))


def _unregistered(name: str, module: Any, internals: set[str], lang: str,
                  registered_devices: set[str]) -> list[AuditFlag]:
    """Flags for state that `.to()` and `.parameters()` miss: modules kept in plain
    lists/tuples/dicts/sets, and plain tensor attributes left on another device than the
    parameters (on `module` or any of its submodules)."""
    import torch
    from torch import nn

    flags = []
    for prefix, sub in module.named_modules():
        for attr, value in vars(sub).items():
            if attr in internals:
                continue
            path = ".".join(p for p in (name, prefix, attr) if p)
            if isinstance(value, torch.Tensor):
                device = str(value.device)
                if registered_devices and device not in registered_devices:
                    flags.append(AuditFlag("device-mismatch", name, text(
                        "flag_plain_tensor", lang, path=path, device=device,
                        devices=", ".join(sorted(registered_devices)), attr=attr)))
                continue
            if not isinstance(value, (list, tuple, dict, set)):
                continue
            items = list(value.values()) if isinstance(value, dict) else list(value)
            nested = [x for item in items if isinstance(item, (list, tuple))
                      for x in item]
            modules = [m for m in items + nested if isinstance(m, nn.Module)]
            if not modules:
                continue
            devices = sorted({str(t.device) for m in modules for t in module_tensors(m)})
            where = ""
            if devices and (not registered_devices or set(devices) != registered_devices):
                where = text("unregistered_where", lang, devices=", ".join(devices))
            flags.append(AuditFlag("unregistered-submodule", name, text(
                "flag_unregistered", lang, path=path, container=type(value).__name__,
                n=len(modules), where=where,
                fix="ModuleDict" if isinstance(value, dict) else "ModuleList")))
    return flags


def _module_row(name: str, module: Any, storages: _Storages, internals: set[str],
                lang: str) -> AuditRow:
    params = list(module.named_parameters())
    buffers = list(module.named_buffers())
    by_device: dict[str, list[str]] = {}
    for pname, t in params + buffers:
        by_device.setdefault(str(t.device), []).append(pname)
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for _, t in params + buffers})
    numel = sum(int(p.numel()) for _, p in params)
    trainable = sum(int(p.numel()) for _, p in params if p.requires_grad)
    modes = Counter(bool(m.training) for m in module.modules())
    mode = "mixed" if len(modes) > 1 else ("train" if module.training else "eval")
    row = AuditRow(
        name=name, kind=type(module).__name__, category="module",
        device=", ".join(sorted(by_device)) or "-", dtype=", ".join(dtypes) or "-",
        shape=text("n_params", lang, n=f"{numel:,}"), nbytes=storages.bytes_of(t for _, t in params + buffers),
        requires_grad=trainable > 0 if params else None, mode=mode, params=numel,
        trainable=trainable)
    if len(by_device) > 1:
        detail = "; ".join(
            f"{dev}: {', '.join(names[:3])}{', ...' if len(names) > 3 else ''}"
            for dev, names in sorted(by_device.items()))
        row.flags.append(AuditFlag("device-mismatch", name, text(
            "flag_mixed_devices", lang, name=name, detail=detail)))
    row.flags.extend(_unregistered(name, module, internals, lang, set(by_device)))
    if mode == "mixed":
        row.flags.append(AuditFlag("train-eval-mode", name, text(
            "flag_mixed_mode", lang, name=name, k=modes[False], n=sum(modes.values()))))
    elif module.training:
        layers = _mode_sensitive_layers(module)
        if layers:
            row.flags.append(AuditFlag("train-eval-mode", name, text(
                "flag_train_mode", lang, name=name, layers=", ".join(layers))))
    return row


def _tensor_row(name: str, tensor: Any, storages: _Storages) -> AuditRow:
    from torch import nn

    storages.add(tensor)
    grad_fn = tensor.grad_fn
    return AuditRow(
        name=name, kind="Parameter" if isinstance(tensor, nn.Parameter) else type(tensor).__name__,
        category="tensor", device=str(tensor.device),
        dtype=str(tensor.dtype).removeprefix("torch."), shape=_shape(tensor),
        nbytes=_tensor_bytes(tensor), requires_grad=bool(tensor.requires_grad),
        grad_fn=type(grad_fn).__name__ if grad_fn is not None else "")


def _shape(tensor: Any) -> str:
    try:
        return str(tuple(int(s) for s in tensor.shape))
    except Exception:
        return "?"


def _optimizer_row(name: str, opt: Any, storages: _Storages, known_params: set[int],
                   lang: str) -> AuditRow:
    import torch

    groups = list(getattr(opt, "param_groups", []))
    params = [p for g in groups for p in g.get("params", []) if isinstance(p, torch.Tensor)]
    state_tensors = []
    mismatch = None
    # .items() only: opt.state is a defaultdict, and indexing it would add entries.
    for param, state in list(getattr(opt, "state", {}).items()):
        if not isinstance(state, dict):
            continue
        for key, value in state.items():
            if not isinstance(value, torch.Tensor):
                continue
            state_tensors.append(value)
            # 0-dim entries such as Adam's 'step' live on the CPU by design.
            if (mismatch is None and value.dim() > 0 and isinstance(param, torch.Tensor)
                    and value.device != param.device):
                mismatch = (key, str(value.device), str(param.device))
    devices = sorted({str(p.device) for p in params})
    row = AuditRow(
        name=name, kind=type(opt).__name__, category="optimizer",
        device=", ".join(devices) or "-",
        dtype=", ".join(sorted({str(p.dtype).removeprefix("torch.") for p in params})) or "-",
        shape=text("params_in_groups", lang, n=len(params), g=len(groups)),
        nbytes=storages.bytes_of(state_tensors))
    if mismatch:
        key, state_device, param_device = mismatch
        row.flags.append(AuditFlag("optimizer-device", name, text(
            "flag_optimizer_state", lang, name=name, key=key, state_device=state_device,
            param_device=param_device)))
    if params and known_params and not any(id(p) in known_params for p in params):
        row.flags.append(AuditFlag("optimizer-device", name, text(
            "flag_optimizer_stale", lang, name=name, n=len(params))))
    return row


_CONTAINER_LIMIT = 100_000


def _container_row(name: str, value: Any, storages: _Storages, lang: str) -> AuditRow | None:
    import torch

    items = value.values() if isinstance(value, dict) else value
    tensors = []
    for i, item in enumerate(items):
        if i >= _CONTAINER_LIMIT:
            break
        if isinstance(item, torch.Tensor):
            tensors.append(item)
    if not tensors:
        return None
    history = [t for t in tensors if t.grad_fn is not None]
    row = AuditRow(
        name=name, kind=f"{type(value).__name__}[Tensor]", category="container",
        device=", ".join(sorted({str(t.device) for t in tensors})),
        dtype=", ".join(sorted({str(t.dtype).removeprefix("torch.") for t in tensors})),
        shape=text("n_tensors", lang, n=len(tensors)), nbytes=storages.bytes_of(tensors),
        requires_grad=any(t.requires_grad for t in tensors),
        grad_fn=text("n_with_history", lang, n=len(history)) if history else "")
    scalars = [t for t in history if t.numel() == 1]
    if len(scalars) >= 2:
        common = Counter(type(t.grad_fn).__name__ for t in scalars).most_common(1)[0][0]
        row.flags.append(AuditFlag("history-accumulation", name, text(
            "flag_history_list", lang, name=name, n=len(scalars), grad_fn=common)))
    return row


def audit(namespace: dict[str, Any], hidden: Iterable[str] = (), lang: str = "en") -> AuditReport:
    """List the namespace's tensors, modules, optimizers and tensor containers, largest
    first, with the pitfalls they show. Reads only: never changes the user's objects."""
    import torch

    hidden = set(hidden)
    storages = _Storages()
    internals = _module_internals()
    items = list(user_items(namespace, hidden))
    known_params: set[int] = set()
    for _, value in items:
        try:
            if isinstance(value, torch.nn.Module):
                known_params.update(id(p) for p in value.parameters())
            elif isinstance(value, torch.Tensor):
                known_params.add(id(value))
        except Exception:
            continue
    rows: list[AuditRow] = []
    for name, value in items:
        try:
            if isinstance(value, torch.Tensor):
                rows.append(_tensor_row(name, value, storages))
            elif isinstance(value, torch.nn.Module):
                rows.append(_module_row(name, value, storages, internals, lang))
            elif isinstance(value, torch.optim.Optimizer):
                rows.append(_optimizer_row(name, value, storages, known_params, lang))
            elif isinstance(value, (list, tuple, dict, set)):
                row = _container_row(name, value, storages, lang)
                if row is not None:
                    rows.append(row)
        except Exception:  # an object torch cannot describe (lazy, fake, ...) is skipped
            continue
    rows.sort(key=lambda r: (-r.nbytes, r.name))
    return AuditReport(rows=rows, totals=storages.totals(), allocator=_allocator_bytes(),
                       language=lang)


def _safe(func: Any, default: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except Exception:
        return default


def _allocator_bytes() -> dict[str, int]:
    """Bytes the torch allocators hold per device (CUDA only once CUDA is in use)."""
    import torch

    out: dict[str, int] = {}
    with redirect.real_functions():
        if _safe(torch.cuda.is_initialized, False):
            for i in range(_safe(torch.cuda.device_count, 0)):
                value = _safe(torch.cuda.memory_allocated, None, i)
                if value is not None:
                    out[f"cuda:{i}"] = int(value)
        if _safe(torch.backends.mps.is_available, False):
            value = _safe(torch.mps.current_allocated_memory, None)
            if value is not None:
                out["mps:0"] = int(value)
    return out
