"""Rescue files: a snapshot written to disk when the CUDA context is lost, and loaded back
into freshly made objects after a kernel restart."""
from __future__ import annotations

import datetime as _dt
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnosis import safe_str
from .copying import _CopyError
from .rng import RngState, _numpy
from .snapshot import Snapshot


#: Folder (relative to the working directory) where rescue files go by default.
RESCUE_DIR = "torchmagic-rescue"
_RESCUE_FORMAT = "torchmagic-rescue"
_RESCUE_VERSION = 1


@dataclass
class RestoreReport:
    """What `restore_rescue` brought back, what it skipped and why, and from which file."""

    restored: list[str]
    skipped: dict[str, str]
    path: Path
    rng_restored: bool = False


def save_rescue(snapshot: Snapshot, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the snapshot to a rescue file (torch.save): tensors as tensors, modules and
    optimizers as their state_dict (by name), plus the RNG state. Default path: a file in
    ./torchmagic-rescue/ named with a timestamp. Return the path.

    Anything with a ``state_dict``/``load_state_dict`` pair (LR schedulers, gradient scalers)
    is saved the same way; containers of tensors and plain data as they are; other objects
    as their plain-data attributes. What cannot be saved is listed in the file with why.
    """
    import torch

    entries: dict[str, dict[str, Any]] = {}
    not_saved = dict(snapshot.left_out)
    for name, value in snapshot.values.items():
        try:
            entry = _rescue_entry(value)
        except _CopyError as exc:
            not_saved[name] = str(exc)
            continue
        entries[name] = entry
    payload = {
        "format": _RESCUE_FORMAT,
        "version": _RESCUE_VERSION,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "entries": entries,
        "not_saved": not_saved,
        "rng": _rng_to_plain(snapshot.rng),
    }
    if path is None:
        folder = Path.cwd() / RESCUE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / f"rescue-{stamp}.pt"
        n = 1
        while target.exists():
            target = folder / f"rescue-{stamp}-{n}.pt"
            n += 1
    else:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: a half-written file must never be "the newest rescue".
    tmp = target.with_name(target.name + ".partial")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target.resolve()


def _rescue_entry(value: Any) -> dict[str, Any]:
    import torch

    if isinstance(value, torch.Tensor):
        if not _is_plain_data(value):
            raise _CopyError(f"a {type(value).__name__} cannot go into a rescue file, only plain tensors")
        return {"kind": "tensor", "value": value}
    if callable(getattr(value, "state_dict", None)) and callable(getattr(value, "load_state_dict", None)):
        try:
            state = value.state_dict()
        except Exception as exc:
            raise _CopyError(f"its state_dict() failed: {type(exc).__name__}: {exc}") from None
        if not _is_plain_data(state, numpy=False):
            raise _CopyError(f"the state_dict of this {type(value).__name__} holds objects that are not plain data")
        role = "module" if isinstance(value, torch.nn.Module) else "other"
        return {"kind": "state", "role": role, "class": _class_name(value), "state_dict": state}
    if _is_plain_data(value):
        return {"kind": "data", "value": _encode(value)}
    attributes = getattr(value, "__dict__", None)
    cls = type(value)
    # Only plain objects get their attributes set back one by one; library objects with
    # their own attribute rules (a DataLoader) would be left half restored.
    if isinstance(attributes, dict) and cls.__setattr__ is object.__setattr__ and cls.__module__.split(".")[0] != "torch":
        kept = {k: _encode(v) for k, v in attributes.items() if _is_plain_data(v)}
        return {"kind": "attributes", "class": _class_name(value), "attributes": kept}
    raise _CopyError(f"a {cls.__name__} is neither a tensor, a state_dict owner, plain data nor a plain object")


_PLAIN_ATOMS = frozenset({type(None), bool, int, float, complex, str, bytes})
_NUMPY_TAG = "__torchmagic_ndarray__"


def _is_plain_data(x: Any, numpy: bool = True, _depth: int = 0) -> bool:
    """Tensors, numbers, strings (and numpy arrays when `numpy`) in lists, tuples, sets
    and dicts: what a rescue file can hold and `torch.load(weights_only=True)` can read."""
    import torch

    if _depth > 50:
        return False
    if isinstance(x, torch.Tensor):
        # Tensor subclasses (an uninitialized lazy parameter) need their class to load.
        return type(x) in (torch.Tensor, torch.nn.Parameter)
    if type(x) in _PLAIN_ATOMS or isinstance(x, (torch.dtype, torch.device, torch.Size)):
        return True
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, (np.ndarray, np.generic)):
        return numpy and x.dtype != object and x.dtype.fields is None
    if type(x) in (list, tuple, set):
        return all(_is_plain_data(i, numpy, _depth + 1) for i in x)
    if type(x) is dict or (type(x).__name__ == "OrderedDict" and type(x).__module__ == "collections"):
        return all(_is_plain_data(k, numpy, _depth + 1) and _is_plain_data(v, numpy, _depth + 1) for k, v in x.items())
    return False


def _encode(x: Any) -> Any:
    """Plain data with numpy arrays turned into tagged byte tensors (safe to load)."""
    import torch

    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, (np.ndarray, np.generic)):
        arr = np.ascontiguousarray(x)
        raw = np.frombuffer(arr.tobytes(), dtype=np.uint8).copy()
        return {
            _NUMPY_TAG: arr.dtype.str,
            "shape": list(arr.shape),
            "scalar": isinstance(x, np.generic),
            "data": torch.from_numpy(raw),
        }
    if type(x) in (list, tuple, set):
        return type(x)(_encode(i) for i in x)
    if isinstance(x, dict):
        return type(x)((k, _encode(v)) for k, v in x.items())
    return x


def _decode(x: Any) -> Any:
    if isinstance(x, dict) and _NUMPY_TAG in x:
        np = _numpy()
        if np is None:
            raise _CopyError("it holds numpy arrays and numpy is not installed")
        arr = np.frombuffer(x["data"].numpy().tobytes(), dtype=np.dtype(x[_NUMPY_TAG])).reshape(x["shape"]).copy()
        return arr[()] if x["scalar"] else arr
    if type(x) in (list, tuple, set):
        return type(x)(_decode(i) for i in x)
    if isinstance(x, dict):
        return type(x)((k, _decode(v)) for k, v in x.items())
    return x


def _class_name(x: Any) -> str:
    return type(x).__qualname__


def _rng_to_plain(rng: RngState) -> dict[str, Any]:
    np_state = rng.numpy
    if np_state is not None:
        np_state = tuple(s.tolist() if hasattr(s, "tolist") else s for s in np_state)
    return {"torch_cpu": rng.torch_cpu, "torch_cuda": rng.torch_cuda, "numpy": np_state, "python": rng.python}


def _newest_rescue() -> Path:
    from IPython.core.error import UsageError

    folder = Path.cwd() / RESCUE_DIR
    files = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not files:
        raise UsageError(f"no rescue file found in {folder}; give the path of one")
    return files[-1]


def _load_rescue(path: Path) -> dict[str, Any]:
    import torch
    from IPython.core.error import UsageError

    if not path.is_file():
        raise UsageError(f"no rescue file at {path}")
    try:
        # Rescue files hold plain data only, so nothing in them can run code when loaded. What
        # torch warns about a file it cannot read is no news: the UsageError says it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = safe_str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        if first.startswith("Weights only load failed"):
            first = "it is not a file torch.save wrote from plain data"
        raise UsageError(f"{path} cannot be read as a torchmagic rescue file: {first}") from None
    if not isinstance(payload, dict) or payload.get("format") != _RESCUE_FORMAT:
        raise UsageError(f"{path} is not a torchmagic rescue file")
    return payload


def restore_rescue(path: str | os.PathLike[str] | None, namespace: MutableMapping[str, Any]) -> RestoreReport:
    """Load a rescue file back (after a kernel restart): into the objects of the same names that
    the user re-created by re-running the definition cells (module.load_state_dict,
    optimizer.load_state_dict, tensors copied into / assigned). Path None: the newest file in
    ./torchmagic-rescue/. Tensors go to the device of the existing object of that name if there is
    one, else stay on CPU. Names whose object is missing or incompatible are skipped with the reason.

    The random generators are set back to their saved state too.
    """
    file = _newest_rescue() if path is None else Path(path)
    payload = _load_rescue(file)
    restored: list[str] = []
    skipped: dict[str, str] = {}
    entries: dict[str, dict[str, Any]] = payload.get("entries", {})
    # Modules before optimizers and schedulers, which refer to their parameters.
    rank = {"tensor": 0, "data": 0, "attributes": 1, "module": 2}
    for name, entry in sorted(entries.items(), key=lambda kv: rank.get(kv[1].get("role", kv[1].get("kind")), 3)):
        try:
            reason = _restore_entry(name, entry, namespace)
        except Exception as exc:  # a user object's load_state_dict may raise anything
            reason = f"could not be loaded: {type(exc).__name__}: {exc}"
        if reason is None:
            restored.append(name)
        else:
            skipped[name] = reason
    for name, why in payload.get("not_saved", {}).items():
        skipped.setdefault(name, f"not in the rescue file: {why}")
    rng_ok = _restore_rng(payload.get("rng"))
    return RestoreReport(restored=restored, skipped=skipped, path=file.resolve(), rng_restored=rng_ok)


def _restore_entry(name: str, entry: dict[str, Any], namespace: MutableMapping[str, Any]) -> str | None:
    """Bring one entry back; the reason when it cannot be."""
    import torch

    kind = entry.get("kind")
    existing = namespace.get(name, _MISSING)
    if kind == "tensor":
        saved = entry["value"]
        if existing is _MISSING:
            namespace[name] = saved
            return None
        if not isinstance(existing, torch.Tensor):
            return f"incompatible: `{name}` is now a {type(existing).__name__}, the file holds a tensor"
        _put_tensor(namespace, name, existing, saved)
        return None
    if kind == "state":
        if existing is _MISSING:
            return f"missing: re-create `{name}` (a {entry['class']}) by running the cell that defines it, then restore again"
        if not callable(getattr(existing, "load_state_dict", None)):
            return f"incompatible: `{name}` is now a {type(existing).__name__}, which has no load_state_dict"
        if _class_name(existing) != entry["class"]:
            return f"incompatible: `{name}` is now a {_class_name(existing)}, the file holds a {entry['class']}"
        state = entry["state_dict"]
        if isinstance(existing, torch.nn.Module):
            mismatch = _state_dict_mismatch(existing.state_dict(), state)
            if mismatch:
                return f"incompatible: {mismatch}"
        existing.load_state_dict(state)
        return None
    if kind == "data":
        value = _decode(entry["value"])
        device = _device_of(existing) if existing is not _MISSING else None
        namespace[name] = _to_device(value, device) if device is not None else value
        return None
    if kind == "attributes":
        if existing is _MISSING:
            return f"missing: re-create `{name}` (a {entry['class']}) by running the cell that defines it, then restore again"
        if _class_name(existing) != entry["class"]:
            return f"incompatible: `{name}` is now a {_class_name(existing)}, the file holds a {entry['class']}"
        decoded = {attr: _decode(saved) for attr, saved in entry["attributes"].items()}
        for attr, saved in decoded.items():
            current = getattr(existing, attr, _MISSING)
            if isinstance(saved, torch.Tensor) and isinstance(current, torch.Tensor):
                _put_tensor_attr(existing, attr, current, saved)
            else:
                device = _device_of(current) if current is not _MISSING else _device_of(existing)
                setattr(existing, attr, _to_device(saved, device) if device is not None else saved)
        return None
    return f"unknown entry kind {kind!r}"


_MISSING: Any = object()


def _put_tensor(namespace: MutableMapping[str, Any], name: str, existing: Any, saved: Any) -> None:
    import torch

    if existing.shape == saved.shape and existing.dtype == saved.dtype:
        with torch.no_grad():
            existing.copy_(saved)
    else:
        namespace[name] = _tensor_to(saved, existing.device)


def _put_tensor_attr(owner: Any, attr: str, existing: Any, saved: Any) -> None:
    import torch

    if existing.shape == saved.shape and existing.dtype == saved.dtype:
        with torch.no_grad():
            existing.copy_(saved)
    else:
        setattr(owner, attr, _tensor_to(saved, existing.device))


def _tensor_to(t: Any, device: Any) -> Any:
    import torch

    if t.device == device:
        return t
    moved = t.detach().to(device)
    if isinstance(t, torch.nn.Parameter):
        return torch.nn.Parameter(moved, requires_grad=t.requires_grad)
    return moved.requires_grad_(t.requires_grad) if t.requires_grad else moved


def _state_dict_mismatch(own: Mapping[str, Any], saved: Mapping[str, Any]) -> str:
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}")
        return "the module's parameters differ from the saved ones: " + ", ".join(parts)
    for key, value in own.items():
        other = saved[key]
        if hasattr(value, "shape") and hasattr(other, "shape") and tuple(value.shape) != tuple(other.shape):
            return f"`{key}` has shape {tuple(value.shape)} here and {tuple(other.shape)} in the file"
    return ""


def _device_of(x: Any) -> Any:
    """The device of the first tensor found in `x`, or None."""
    import torch

    if isinstance(x, torch.Tensor):
        return x.device
    if isinstance(x, torch.nn.Module):
        for t in list(x.parameters()) + list(x.buffers()):
            return t.device
        return None
    if isinstance(x, dict):
        items: Iterable[Any] = x.values()
    elif isinstance(x, (list, tuple)):
        items = x
    else:
        return None
    for item in items:
        device = _device_of(item)
        if device is not None:
            return device
    return None


def _to_device(x: Any, device: Any) -> Any:
    import torch

    if isinstance(x, torch.Tensor):
        return _tensor_to(x, device)
    if type(x) is dict:
        return {k: _to_device(v, device) for k, v in x.items()}
    if type(x) in (list, tuple):
        return type(x)(_to_device(v, device) for v in x)
    return x


def _restore_rng(plain: Any) -> bool:
    if not isinstance(plain, dict) or plain.get("torch_cpu") is None:
        return False
    np_state = plain.get("numpy")
    if np_state is not None:
        np_state = tuple(np_state)
    python_state = plain.get("python")
    if python_state is not None:
        python_state = (python_state[0], tuple(python_state[1]), python_state[2])
    RngState(
        torch_cpu=plain["torch_cpu"],
        torch_cuda=plain.get("torch_cuda"),
        numpy=np_state,
        python=python_state,
    ).restore()
    return True
