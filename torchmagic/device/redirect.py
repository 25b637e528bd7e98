"""Run code written for CUDA or MPS on another device, usually the CPU.

While a redirection is active, requests for a *source* device type (``.cuda()``,
``.to('cuda')``, ``device='cuda:0'``, ``torch.device('cuda')``, ``map_location='cuda'``,
and factory calls under a CUDA default device) land on the *target* device, and the
availability checks (``torch.cuda.is_available()``, ``torch.cuda.device_count()``,
``torch.backends.mps.is_available()``, ``torch.accelerator.*``) answer as if the source
device did not exist, so notebooks that pick their device the usual way pick the target.

Tensor operations are rewritten by a :class:`torch.overrides.TorchFunctionMode` pushed on
the current thread's mode stack; the availability checks and ``torch.load`` are plain
Python functions, swapped for guarded wrappers that are put back when the last
redirection ends. :func:`redirected` is the scoped form (nestable, restored on any exit,
KeyboardInterrupt included); :func:`start_redirect` / :func:`stop_redirect` keep one
redirection across notebook cells.

A move that really changes the device returns a new tensor, so a redirected move copies
too: ``torch.randn(3, requires_grad=True).cuda()`` is a non-leaf, as on a GPU. A tensor
that a redirected request already placed (and any view of it) is treated as being on the
source device, so moving it again returns it unchanged, as it would on a GPU.

Names bound before the redirection started (``from torch.cuda import is_available``)
keep the original functions.
"""
from __future__ import annotations

import functools
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

__all__ = [
    "redirected",
    "start_redirect",
    "stop_redirect",
    "redirect_active",
    "persistent_redirect",
    "redirected_types",
    "default_sources",
    "real_functions",
    "original",
    "ACCELERATORS",
]

ACCELERATORS = ("cuda", "mps")
"""Device types that a redirection may take requests from."""

_ORIGINAL_ATTR = "__torchmagic_original__"


@dataclass(eq=False)
class _Entry:
    target: str
    source: tuple[str, ...]
    mode: Any  # the RedirectMode pushed for this entry


_lock = threading.RLock()
_entries: list[_Entry] = []
_persistent: _Entry | None = None
_saved: dict[tuple[int, str], tuple[Any, Any, Any]] = {}  # (id(owner), name) -> (owner, original, wrapper)
_placed: dict[int, "weakref.ref[Any]"] = {}  # storages a redirected request produced


# --------------------------------------------------------------------------- public API
@contextmanager
def redirected(target: str = "cpu", source: tuple[str, ...] = ACCELERATORS) -> Iterator[None]:
    """Within the block, requests for `source` devices land on `target`.

    Nestable; everything is restored when the block ends, however it ends.
    """
    entry = _activate(target, source)
    try:
        yield
    finally:
        _deactivate(entry)


def start_redirect(target: str = "cpu", source: tuple[str, ...] | None = None) -> None:
    """Redirect `source` device requests (default: every accelerator other than `target`)
    to `target` until :func:`stop_redirect`; replaces an earlier persistent redirection."""
    global _persistent
    with _lock:
        if source is None:
            source = default_sources(target)
        previous = _persistent
        entry = _activate(target, source)
        _persistent = entry
        if previous is not None:
            _deactivate(previous)


def stop_redirect() -> None:
    """End the redirection that :func:`start_redirect` began (no-op if there is none)."""
    global _persistent
    with _lock:
        entry, _persistent = _persistent, None
        if entry is not None:
            _deactivate(entry)


def redirect_active() -> str | None:
    """The target device of the newest active redirection, or None when none is active."""
    with _lock:
        if _entries:
            return _entries[-1].target
        return None


def persistent_redirect() -> tuple[str, tuple[str, ...]] | None:
    """(target, source types) of the redirection :func:`start_redirect` began, or None."""
    with _lock:
        if _persistent is None:
            return None
        return _persistent.target, _persistent.source


def redirected_types() -> tuple[str, ...]:
    """Device types whose requests are currently redirected (empty when none)."""
    with _lock:
        types: list[str] = []
        for entry in _entries:
            types.extend(t for t in entry.source if t not in types)
        return tuple(types)


def default_sources(target: str) -> tuple[str, ...]:
    """The accelerators a redirection to `target` takes requests from: all but its own type."""
    kind = _device_type(target)
    return tuple(t for t in ACCELERATORS if t != kind)


def original(func: Callable) -> Callable:
    """The function a redirection wrapper stands for (`func` itself if it is not one)."""
    return getattr(func, _ORIGINAL_ATTR, func)


@contextmanager
def real_functions() -> Iterator[None]:
    """Within the block, the swapped functions are the originals again (for code that
    must see the real machine, such as the device report); the modes stay as they are."""
    with _lock:
        swapped = [(owner, name, orig, wrapper)
                   for (_, name), (owner, orig, wrapper) in _saved.items()
                   if getattr(owner, name, None) is wrapper]
        for owner, name, orig, _ in swapped:
            setattr(owner, name, orig)
    try:
        yield
    finally:
        with _lock:
            for owner, name, orig, wrapper in swapped:
                if getattr(owner, name, None) is orig and (id(owner), name) in _saved:
                    setattr(owner, name, wrapper)


# --------------------------------------------------------------------------- activation
def _activate(target: str, source: tuple[str, ...]) -> _Entry:
    import torch

    target_device = torch.device(target)  # raises on a malformed device string
    source = tuple(_device_type(s) for s in source)
    if target_device.type in source:
        raise ValueError(f"cannot redirect {target_device.type!r} to itself")
    mode = _new_mode(target_device, source)
    entry = _Entry(target=str(target_device), source=source, mode=mode)
    with _lock:
        _entries.append(entry)
        try:
            if len(_entries) == 1:
                _install_patches()
            _push(mode)
        except BaseException:
            _entries.remove(entry)
            if not _entries:
                _remove_patches()
            raise
    return entry


def _deactivate(entry: _Entry) -> None:
    with _lock:
        entry.mode.enabled = False  # inert even if it cannot be taken off another thread's stack
        try:
            _remove_mode(entry.mode)
        finally:
            if entry in _entries:
                _entries.remove(entry)
            if not _entries:
                _remove_patches()
                _placed.clear()


def _push(mode: Any) -> None:
    from torch.overrides import _push_mode

    _push_mode(mode)


def _remove_mode(mode: Any) -> bool:
    """Take `mode` off this thread's torch-function mode stack, keeping the modes above it."""
    import torch
    from torch.overrides import _pop_mode, _push_mode

    stack = [torch._C._get_function_stack_at(i) for i in range(torch._C._len_torch_function_stack())]
    if not any(m is mode for m in stack):
        return False
    above = []
    while True:
        top = _pop_mode()
        if top is mode:
            break
        above.append(top)
    for m in reversed(above):
        _push_mode(m)
    return True


def _device_type(spec: Any) -> str:
    import torch

    if isinstance(spec, torch.device):
        return spec.type
    if isinstance(spec, int):
        return "cuda"
    return torch.device(spec).type


# --------------------------------------------------------------------------- placement marks
def _mark(result: Any) -> None:
    """Remember the storage of tensors a redirected request produced (see module docstring)."""
    import torch

    if not isinstance(result, torch.Tensor):
        return
    try:
        storage = result.untyped_storage()
        key = storage._cdata
    except Exception:  # sparse, nested and wrapper tensors have no plain storage
        return
    with _lock:
        if key in _placed and _placed[key]() is storage:
            return
        _placed[key] = weakref.ref(storage, functools.partial(_forget, key))


def _forget(key: int, ref: Any) -> None:
    with _lock:
        if _placed.get(key) is ref:
            del _placed[key]


def _is_placed(tensor: Any) -> bool:
    try:
        storage = tensor.untyped_storage()
        ref = _placed.get(storage._cdata)
    except Exception:
        return False
    return ref is not None and ref() is storage


# --------------------------------------------------------------------------- the mode
_mode_class: type | None = None


def _new_mode(target: Any, source: tuple[str, ...]) -> Any:
    """A redirection mode (its class is built on first use, so importing this module does
    not import torch)."""
    global _mode_class
    if _mode_class is None:
        _mode_class = _build_mode_class()
    return _mode_class(target, source)


def _build_mode_class() -> type:
    import torch
    import torch.utils._device as device_module
    from torch.utils._device import _device_constructors

    Tensor = torch.Tensor
    tensor_to, tensor_cuda = Tensor.to, Tensor.cuda
    tensor_type, tensor_pin = Tensor.type, Tensor.pin_memory
    constructors = frozenset(_device_constructors())
    # Calls worth a look even without keyword arguments.
    special = constructors | {tensor_to, tensor_cuda, tensor_type, tensor_pin}

    class RedirectMode(torch.overrides.TorchFunctionMode):
        """Rewrites device arguments of torch calls from the source types to the target."""

        def __init__(self, target: torch.device, source: tuple[str, ...]) -> None:
            super().__init__()
            self.target = target
            self.source = source
            self.enabled = True
            self.to_cpu = target.type == "cpu"

        def __repr__(self) -> str:
            return f"RedirectMode({', '.join(self.source)} -> {self.target})"

        def _maps(self, device: Any) -> bool:
            if isinstance(device, torch.device):
                return device.type in self.source
            if isinstance(device, str):
                try:
                    return torch.device(device).type in self.source
                except (RuntimeError, ValueError):
                    return False
            if isinstance(device, int) and not isinstance(device, bool):
                return "cuda" in self.source
            return False

        def _move(self, tensor: Any, args: tuple, kwargs: dict) -> Any:
            if "copy" not in kwargs and len(args) < 3 and not _is_placed(tensor):
                kwargs["copy"] = True  # a real device change returns a new tensor
            result = tensor_to(tensor, self.target, *args, **kwargs)
            _mark(result)
            return result

        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            if not self.enabled or (not kwargs and func not in special):
                return func(*args, **(kwargs or {}))  # the common case: nothing to rewrite
            kwargs = dict(kwargs) if kwargs else {}
            if func is tensor_to and args:
                rest = args[1:]
                if rest and self._maps(rest[0]):
                    return self._move(args[0], rest[1:], kwargs)
                if "device" in kwargs and self._maps(kwargs["device"]):
                    kwargs.pop("device")
                    return self._move(args[0], rest, kwargs)
                return func(*args, **kwargs)
            if func is tensor_cuda and "cuda" in self.source and args:
                non_blocking = args[2] if len(args) > 2 else kwargs.get("non_blocking", False)
                extra = {"non_blocking": non_blocking}
                if "memory_format" in kwargs:
                    extra["memory_format"] = kwargs["memory_format"]
                return self._move(args[0], (), extra)
            if func is tensor_pin and self.to_cpu and args:
                return args[0]  # pinned host memory only helps copies to an accelerator
            if func is tensor_type and "cuda" in self.source:
                if len(args) > 1:
                    args = (args[0], _cpu_tensor_type(args[1]), *args[2:])
                if "dtype" in kwargs:
                    kwargs["dtype"] = _cpu_tensor_type(kwargs["dtype"])
            placed = False
            device = kwargs.get("device")
            if device is not None:
                if self._maps(device):
                    kwargs["device"] = self.target
                    placed = True
            elif func in constructors:
                default = device_module.CURRENT_DEVICE
                if default is not None and default.type in self.source:
                    kwargs["device"] = self.target
                    placed = True
            if self.to_cpu and kwargs.get("pin_memory"):
                kwargs["pin_memory"] = False
            result = func(*args, **kwargs)
            if placed:
                _mark(result)
            return result

    return RedirectMode


def _cpu_tensor_type(spec: Any) -> Any:
    """'torch.cuda.FloatTensor' (or the class) -> its CPU counterpart; anything else as is."""
    import torch

    if isinstance(spec, str) and spec.startswith("torch.cuda."):
        return "torch." + spec[len("torch.cuda."):]
    if isinstance(spec, type) and getattr(spec, "__module__", "") == "torch.cuda":
        return getattr(torch, spec.__name__, spec)
    return spec


# --------------------------------------------------------------------------- swapped functions
def _patch_table() -> list[tuple[Any, str, str, Callable[[Callable], Callable]]]:
    """(owner, attribute, device type, replacement factory) for each function swapped."""
    import torch

    def constant(value: Any) -> Callable[[Callable], Callable]:
        return lambda orig: (lambda *a, **k: value)

    def accelerator(answer: Any) -> Callable[[Callable], Callable]:
        def factory(orig: Callable) -> Callable:
            def replacement(*a: Any, **k: Any) -> Any:
                current = original(torch.accelerator.current_accelerator)()
                if current is not None and current.type in redirected_types():
                    return answer
                return orig(*a, **k)
            return replacement
        return factory

    noop = constant(None)
    rows: list[tuple[Any, str, str, Callable[[Callable], Callable]]] = [
        (torch.cuda, "is_available", "cuda", constant(False)),
        (torch.cuda, "device_count", "cuda", constant(0)),
        (torch.cuda, "synchronize", "cuda", noop),
        (torch.cuda, "set_device", "cuda", noop),
        (torch.cuda, "empty_cache", "cuda", noop),
        (torch.cuda, "reset_peak_memory_stats", "cuda", noop),
        (torch.cuda, "memory_allocated", "cuda", constant(0)),
        (torch.cuda, "max_memory_allocated", "cuda", constant(0)),
        (torch.cuda, "memory_reserved", "cuda", constant(0)),
        (torch.cuda, "max_memory_reserved", "cuda", constant(0)),
        (torch.backends.cudnn, "is_available", "cuda", constant(False)),
        (torch.backends.mps, "is_available", "mps", constant(False)),
        (torch.mps, "is_available", "mps", constant(False)),
        (torch.mps, "device_count", "mps", constant(0)),
        (torch.mps, "synchronize", "mps", noop),
        (torch.mps, "empty_cache", "mps", noop),
    ]
    if hasattr(torch, "accelerator"):
        rows += [
            (torch.accelerator, "is_available", "", accelerator(False)),
            (torch.accelerator, "device_count", "", accelerator(0)),
            (torch.accelerator, "current_accelerator", "", accelerator(None)),
        ]
    return rows


def _install_patches() -> None:
    import torch
    import torch.serialization

    for owner, name, kind, factory in _patch_table():
        orig = getattr(owner, name, None)
        if orig is None or hasattr(orig, _ORIGINAL_ATTR):
            continue
        _swap(owner, name, orig, _guarded(orig, kind, factory(orig)))
    for owner in (torch, torch.serialization):
        orig = owner.load
        if not hasattr(orig, _ORIGINAL_ATTR):
            _swap(owner, "load", orig, _guarded_load(orig))


def _swap(owner: Any, name: str, orig: Callable, wrapper: Callable) -> None:
    _saved[(id(owner), name)] = (owner, orig, wrapper)
    setattr(owner, name, wrapper)


def _remove_patches() -> None:
    for (_, name), (owner, orig, wrapper) in list(_saved.items()):
        if getattr(owner, name, None) is wrapper:
            setattr(owner, name, orig)
        # else: someone replaced our wrapper since; theirs stays
    _saved.clear()


def _guarded(orig: Callable, kind: str, replacement: Callable) -> Callable:
    @functools.wraps(orig)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not kind or kind in redirected_types():
            return replacement(*args, **kwargs)
        return orig(*args, **kwargs)

    setattr(wrapper, _ORIGINAL_ATTR, orig)
    return wrapper


def _guarded_load(orig: Callable) -> Callable:
    @functools.wraps(orig)
    def load(*args: Any, **kwargs: Any) -> Any:
        target = _load_target()
        if target is None:
            return orig(*args, **kwargs)
        if len(args) > 1:
            args = (args[0], _map_location(args[1], target), *args[2:])
        else:
            kwargs["map_location"] = _map_location(kwargs.get("map_location"), target)
        return orig(*args, **kwargs)

    setattr(load, _ORIGINAL_ATTR, orig)
    return load


def _load_target() -> tuple[str, tuple[str, ...]] | None:
    with _lock:
        if not _entries:
            return None
        entry = _entries[-1]
        return entry.target, redirected_types()


def _map_location(user: Any, redirect: tuple[str, tuple[str, ...]]) -> Callable:
    """A map_location that applies the user's choice, then sends source devices to the target."""
    import torch
    from torch.serialization import default_restore_location

    target, source = redirect

    def restore(storage: Any, location: str) -> Any:
        if user is None:
            where = location
        elif isinstance(user, dict):
            where = user.get(location, location)
        elif isinstance(user, bytes):
            where = user.decode()
        elif isinstance(user, (str, torch.device)):
            where = str(user)
        else:
            result = user(storage, location)
            if result is not None:
                return result
            where = location
        try:
            if torch.device(where).type in source:
                where = target
        except (RuntimeError, ValueError):
            pass
        return default_restore_location(storage, where)

    return restore
