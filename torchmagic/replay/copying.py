"""What can be shared between the user's namespace and a copy of it, and how the rest is
copied to host memory with its sharing kept, without running the user's code."""
from __future__ import annotations

import abc
import copy
import enum
import functools
import sys
import types
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import reduction
from .reads import _code_global_names


_ATOMIC_TYPES: frozenset[type] = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        range,
        type(Ellipsis),
        type(NotImplemented),
        types.CodeType,
        property,
    }
)


_torch_types: tuple[type, ...] = ()


def _torch_atomic_types() -> tuple[type, ...]:
    global _torch_types
    if not _torch_types:
        torch = sys.modules.get("torch")
        if torch is None:
            return ()
        _torch_types = (torch.dtype, torch.device, torch.layout, torch.memory_format, torch.Size, torch.finfo, torch.iinfo)
    return _torch_types


def _is_atomic(x: Any) -> bool:
    """Immutable, holds nothing, and is its own copy. (Types are looked at, never the object's
    attributes: no code of the user's runs.)"""
    cls = type(x)
    verdict = _atomic_types.get(cls)
    if verdict is None:
        verdict = _type_is_atomic(cls)
        if not cls.__flags__ & _HEAP_TYPE:  # built-in and C types: few, and never change
            _atomic_types[cls] = verdict
    if verdict == "owner":
        owner = x.__self__
        return owner is None or issubclass(type(owner), (types.ModuleType, type))
    return bool(verdict)


_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement
_atomic_types: dict[type, Any] = {}


def _type_is_atomic(cls: type) -> Any:
    """True or False for every instance of `cls`; "owner" when it depends on a builtin
    method's owner."""
    if cls in _ATOMIC_TYPES or issubclass(cls, (type, types.ModuleType, enum.Enum)):
        return True
    if issubclass(cls, (types.BuiltinFunctionType, types.BuiltinMethodType)):
        return "owner"
    if issubclass(cls, _torch_atomic_types()):
        return True
    np = sys.modules.get("numpy")
    return np is not None and issubclass(cls, (np.generic, np.dtype))


def _is_shareable(x: Any, _depth: int = 0) -> bool:
    """Whether `x` can be handed to a rerun by reference: immutable and free of tensors."""
    if _is_atomic(x):
        return True
    if _depth > 20:
        return False
    if type(x) in (tuple, frozenset):
        return all(_is_shareable(i, _depth + 1) for i in x)
    if type(x) is types.FunctionType:
        return _function_parts_shareable(x, _depth)
    if type(x) is functools.partial:
        return (
            _is_shareable(x.func, _depth + 1)
            and all(_is_shareable(a, _depth + 1) for a in x.args)
            and all(_is_shareable(v, _depth + 1) for v in x.keywords.values())
        )
    return False


def _function_parts(f: types.FunctionType) -> list[Any]:
    """The objects a function carries: defaults and closure contents."""
    parts: list[Any] = list(f.__defaults__ or ())
    parts += list((f.__kwdefaults__ or {}).values())
    for cell in f.__closure__ or ():
        try:
            parts.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    return parts


def _function_parts_shareable(f: types.FunctionType, depth: int) -> bool:
    return all(_is_shareable(p, depth + 1) for p in _function_parts(f))


def _function_needs_rebuild(f: types.FunctionType) -> bool:
    """Whether a copy of `f` needs its own defaults and closure cells.

    Functions it carries count too: they may need new globals themselves.
    """
    return not all(_is_atomic(p) or (type(p) is tuple and _is_shareable(p) and not _holds_function(p)) for p in _function_parts(f))


def _holds_function(x: tuple) -> bool:
    return any(type(i) in (types.FunctionType, functools.partial) or (type(i) is tuple and _holds_function(i)) for i in x)


def _is_plain_tensor(t: Any) -> bool:
    """A dense, strided tensor with real storage, copied storage by storage."""
    import torch

    if type(t) not in (torch.Tensor, torch.nn.Parameter):
        return False
    if t.layout != torch.strided or t.is_quantized or t.is_nested or t.device.type == "meta":
        return False
    return not (t.is_conj() or t.is_neg())


_CopyError = reduction.CannotCopy  # an object that cannot go into a snapshot, with the reason

#: Metaclasses whose classes a replay may re-create (creating one runs no code of the user's).
_REBUILDABLE_METACLASSES: tuple[type, ...] = (type, abc.ABCMeta)


def _extra_metaclasses() -> tuple[type, ...]:
    """Library metaclasses that are as safe: torch's `autograd.Function`."""
    torch = sys.modules.get("torch")
    meta = getattr(getattr(getattr(torch, "autograd", None), "function", None), "FunctionMeta", None)
    return (meta,) if isinstance(meta, type) else ()


def _class_functions(raw: Any) -> list[types.FunctionType]:
    """The Python functions behind a class attribute (a method, a static or class method, a
    property's accessors)."""
    kind = type(raw)
    if kind is types.FunctionType:
        return [raw]
    if kind in (staticmethod, classmethod):
        return [raw.__func__] if type(raw.__func__) is types.FunctionType else []
    if kind is property:
        return [f for f in (raw.fget, raw.fset, raw.fdel) if type(f) is types.FunctionType]
    return []


class _Copier:
    """A deep copy that puts every tensor in host memory and keeps sharing and views.

    It follows `copy.deepcopy` (memo, ``__deepcopy__``, ``__reduce_ex__``) with these
    differences: tensors are copied storage by storage to the CPU (views of one storage
    stay views of one copy), Python modules are shared, functions whose globals are in
    `rebind` get the new globals, and closures holding mutable objects get copied cells.
    """

    def __init__(self, rebind: Mapping[int, dict[str, Any]] | None = None, whole: set[Any] | None = None,
                 spare: "HostBuffers | None" = None) -> None:
        self.memo: dict[int, Any] = {}
        self.spare = spare
        self.rebind = dict(rebind or {})
        # Storages to copy whole (their views stay views); None: all of them. A tensor on
        # any other storage is copied alone, so a small slice of a big tensor stays small.
        self.whole = whole
        self.storages: dict[Any, Any] = {}
        self.nbytes = 0
        self._keep: list[Any] = []  # the originals, so that their ids stay unique meanwhile
        self._verdicts: dict[int, bool] = {}  # id(class) -> whether it is re-created
        self._building: dict[int, list[Any]] = {}  # id(class) -> closure cells awaiting its copy
        self.shared_classes: list[str] = []  # classes that read the user's globals but stay shared
        self.recreated: dict[type, type] = {}  # re-created class -> the user's class

    def checkpoint(self) -> tuple[int, int, int, int]:
        return len(self.memo), len(self.storages), self.nbytes, len(self._keep)

    def rollback(self, mark: tuple[int, int, int, int]) -> None:
        """Forget whatever was copied since `mark` (a half-copied object must not be reused)."""
        n_memo, n_storages, nbytes, n_keep = mark
        for key in list(self.memo)[n_memo:]:
            del self.memo[key]
        for key in list(self.storages)[n_storages:]:
            del self.storages[key]
        self.nbytes = nbytes
        del self._keep[n_keep:]

    def _remember(self, x: Any, y: Any) -> None:
        self.memo[id(x)] = y
        self._keep.append(x)

    def copy(self, x: Any) -> Any:
        found = self.memo.get(id(x), self)
        if found is not self:
            return found
        if self.rebind and issubclass(type(x), type):
            return self._class(x)
        if _is_atomic(x):
            return x
        y = self._copy(x)
        if id(x) not in self.memo:
            self._remember(x, y)
        return y

    def _copy(self, x: Any) -> Any:
        import torch

        cls = type(x)
        if issubclass(cls, torch.Tensor):
            return self._tensor(x)
        if cls is list:
            y: Any = []
            self._remember(x, y)
            y.extend(self.copy(i) for i in x)
            return y
        if cls is dict:
            y = {}
            self._remember(x, y)
            for k, v in x.items():
                y[self.copy(k)] = self.copy(v)
            return y
        if cls is tuple:
            items = [self.copy(i) for i in x]
            if id(x) in self.memo:  # a tuple reached again through its own items
                return self.memo[id(x)]
            return x if all(a is b for a, b in zip(items, x)) else tuple(items)
        if cls is types.FunctionType:
            return self._function(x)
        if cls is types.MethodType:
            return types.MethodType(self.copy(x.__func__), self.copy(x.__self__))
        if cls is types.CellType:
            cell = types.CellType()
            self._remember(x, cell)
            try:
                contents = x.cell_contents
            except ValueError:
                return cell
            self._fill(cell, contents)
            return cell
        if cls is weakref.ref:
            # A weak reference must not lead back to the original: point it at the copy.
            target = x()
            return x if target is None or _is_atomic(target) else weakref.ref(self.copy(target))
        if issubclass(cls, torch.Generator):
            return self._generator(x)
        np = sys.modules.get("numpy")
        if np is not None and cls is np.ndarray:
            self.nbytes += x.nbytes
            return copy.deepcopy(x, self.memo)  # type: ignore[arg-type]
        return self._reduce(x)

    def _reduce(self, x: Any) -> Any:
        """Copy any other object from its parts, running none of its owner's code (see
        :mod:`torchmagic.replay.reduction`)."""
        reduced = reduction.reduce(x)
        if reduced.by_name:
            return x  # a global, by name
        if reduced.deepcopy is not None:
            return reduced.deepcopy(self.memo)  # a library's own copy
        y = reduced.make(*[self.copy(a) for a in reduced.args])
        self._remember(x, y)
        if reduced.state is not None:
            reduced.restore(y, self.copy(reduced.state))
        for item in reduced.items or ():
            reduced.add_item(y, self.copy(item))
        for key, value in reduced.pairs or ():
            reduced.add_pair(y, self.copy(key), self.copy(value))
        return y

    def _fill(self, cell: Any, contents: Any) -> None:
        """Give a copied closure cell its contents; a class being re-created fills it later."""
        waiting = self._building.get(id(contents)) if issubclass(type(contents), type) else None
        if waiting is not None:
            waiting.append(cell)
        else:
            cell.cell_contents = self.copy(contents)

    # -- classes: a replay re-creates the user's classes over its own globals
    def _class(self, cls: type) -> type:
        if id(cls) in self._building or not self._rebuilds(cls):
            return cls
        if type(cls) not in _REBUILDABLE_METACLASSES + _extra_metaclasses():
            self.shared_classes.append(cls.__qualname__)
            self._remember(cls, cls)
            return cls
        return self._rebuild_class(cls)

    def _rebuilds(self, cls: type) -> bool:
        """Whether `cls` is the user's and reads globals being replaced: methods defined over
        one of them, or such a base class."""
        verdict = self._verdicts.get(id(cls))
        if verdict is None:
            self._verdicts[id(cls)] = False  # for the walk through cyclic references
            space = reduction._dict_of(cls)
            verdict = any(self._rebuilds(base) for base in cls.__bases__ if base is not object) or any(
                id(getattr(f, "__globals__", None)) in self.rebind for raw in space.values()
                for f in _class_functions(raw))
            self._verdicts[id(cls)] = verdict
        return verdict

    def _rebuild_class(self, cls: type) -> type:
        """A new class like `cls` whose methods read the new globals: functions and descriptors
        first (``super()`` cells get the new class), then the other attributes, copied."""
        self._building[id(cls)] = []
        space = dict(reduction._dict_of(cls))
        own_slots = {name for klass, name in reduction.slot_names(cls) if klass is cls}
        try:
            bases = tuple(self.copy(base) for base in cls.__bases__)
            body: dict[str, Any] = {"__qualname__": cls.__qualname__}
            later: dict[str, Any] = {}
            for name, raw in space.items():
                if name in ("__dict__", "__weakref__", "_abc_impl", "__abstractmethods__") or name in own_slots:
                    continue
                if name in ("__module__", "__doc__", "__slots__") or _class_functions(raw) or \
                        reduction.lookup(type(raw), "__get__")[1] is not None:
                    body[name] = self._class_attribute(raw)
                else:
                    later[name] = raw
            new = type(cls)(cls.__name__, bases, body)
        except Exception:  # a class that cannot be re-created stays shared
            new = cls
            self.shared_classes.append(cls.__qualname__)
        for cell in self._building.pop(id(cls)):
            cell.cell_contents = new
        self._remember(cls, new)
        if new is not cls:
            self.recreated[new] = cls
            made = reduction._dict_of(new)
            for name, raw in later.items():
                if name in made:  # the metaclass made its own (autograd.Function's backward class)
                    continue
                try:
                    type.__setattr__(new, name, self.copy(raw))
                except Exception:
                    type.__setattr__(new, name, raw)
        return new

    def _class_attribute(self, raw: Any) -> Any:
        kind = type(raw)
        if kind is types.FunctionType:
            return self.copy(raw)
        if kind in (staticmethod, classmethod):
            return kind(self.copy(raw.__func__))
        if kind is property:
            return property(*(None if f is None else self.copy(f) for f in (raw.fget, raw.fset, raw.fdel)),
                            raw.__doc__)
        try:
            return self.copy(raw)
        except Exception:
            return raw  # a descriptor that cannot be copied is shared

    def _tensor(self, t: Any) -> Any:
        import torch

        plain = _is_plain_tensor(t)
        key = _storage_key(t) if plain else None
        if plain and (self.whole is None or key in self.whole or key in self.storages):
            host = self.storages.get(key)
            if host is None:
                storage = t.untyped_storage()
                host = self.spare.reuse(storage) if self.spare is not None else None
                if host is None:
                    host = storage.cpu() if storage.device.type != "cpu" else storage.clone()
                self.storages[key] = host
                self.nbytes += host.nbytes()
            with torch.no_grad():
                new = torch.empty((0,), dtype=t.dtype).set_(host, t.storage_offset(), t.size(), t.stride())
        elif issubclass(type(t), torch.nn.parameter.UninitializedTensorMixin) or t.device.type == "meta":
            return copy.deepcopy(t, self.memo)  # holds no data
        else:
            try:
                new = t.detach().to("cpu", copy=True)
            except Exception as exc:
                raise _CopyError(f"cannot copy a {type(t).__name__} to host memory: {exc}") from None
            self.nbytes += _tensor_bytes(new)
        if issubclass(type(t), torch.nn.Parameter):
            if not issubclass(type(new), torch.nn.Parameter):
                new = torch.nn.Parameter(new, requires_grad=t.requires_grad)
        elif t.requires_grad:
            new.requires_grad_(True)
        self._remember(t, new)
        if t.is_leaf and t.grad is not None:
            new.grad = self.copy(t.grad)
        extra = reduction.instance_dict(t)
        for name, value in (extra or {}).items():
            setattr(new, name, self.copy(value))
        return new

    def _generator(self, g: Any) -> Any:
        import torch

        if g.device.type != "cpu":
            raise _CopyError(f"a random generator on {g.device} cannot be copied to host memory")
        new = torch.Generator()
        new.set_state(g.get_state())
        return new

    def _function(self, f: types.FunctionType) -> types.FunctionType:
        new_globals = self.rebind.get(id(f.__globals__))
        if new_globals is None and not _function_needs_rebuild(f):
            return f
        pending: list[tuple[Any, Any]] = []
        cells: list[Any] = []
        for cell in f.__closure__ or ():
            if id(cell) in self.memo:
                cells.append(self.memo[id(cell)])
                continue
            fresh = types.CellType()
            self._remember(cell, fresh)
            cells.append(fresh)
            pending.append((cell, fresh))
        new = types.FunctionType(
            f.__code__,
            f.__globals__ if new_globals is None else new_globals,
            f.__name__,
            None,
            tuple(cells) if f.__closure__ is not None else None,
        )
        self._remember(f, new)
        new.__defaults__ = self.copy(f.__defaults__)
        new.__kwdefaults__ = self.copy(f.__kwdefaults__)
        new.__qualname__ = f.__qualname__
        new.__module__ = f.__module__
        new.__doc__ = f.__doc__
        new.__annotations__ = f.__annotations__
        new.__dict__.update(self.copy(f.__dict__))
        for old, fresh in pending:
            try:
                contents = old.cell_contents
            except ValueError:
                continue
            self._fill(fresh, contents)
        return new


def _storage_key(t: Any) -> Any:
    """What identifies the storage of a plain tensor while it is alive."""
    storage = t.untyped_storage()
    ptr = storage.data_ptr()
    return (storage.device.type, storage.device.index, ptr) if ptr else ("empty", id(t))


def _tensor_bytes(t: Any) -> int:
    """Bytes that a tensor copied alone takes (an expanded view becomes dense)."""
    return t.element_size() * t.nelement()


@dataclass
class _Block:
    """One block of data (a tensor storage, an array): its size and the views reached on it."""

    size: int
    views: dict[int, int] = field(default_factory=dict)  # id(tensor) -> bytes if copied alone

    def merged(self, other: "_Block") -> "_Block":
        return _Block(self.size, {**self.views, **other.views})

    @property
    def whole(self) -> bool:
        """Copy it whole: several views must stay views of one copy, or it's no bigger."""
        return len(self.views) > 1 or self.size <= max(self.views.values(), default=0)

    @property
    def cost(self) -> int:
        return self.size if self.whole else max(self.views.values())


@dataclass
class _Reach:
    """What a value reaches: blocks of data and the global names its functions read."""

    blocks: dict[Any, _Block] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)

    def add(self, key: Any, size: int, view: int, view_bytes: int) -> None:
        self.blocks.setdefault(key, _Block(size)).views[view] = view_bytes

    @property
    def nbytes(self) -> int:
        return sum(b.cost for b in self.blocks.values())


_SHELL_PACKAGES = frozenset({"IPython", "ipykernel", "zmq", "traitlets", "jupyter_client"})


def _reach(root: Any, namespace: Any = None) -> _Reach:
    """Walk what `root` holds, the way `_Copier` would copy it, without copying."""
    import torch

    np = sys.modules.get("numpy")
    out = _Reach()
    seen: dict[int, Any] = {}
    stack = [root]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        cls = type(x)
        if namespace is not None and issubclass(cls, type):
            seen[id(x)] = x  # a class of the user's brings the globals its methods read
            out.global_names |= _class_global_names(x, namespace)
            continue
        if _is_atomic(x):
            continue
        seen[id(x)] = x
        if issubclass(cls, torch.Tensor):
            out.devices.add(x.device.type)
            if _is_plain_tensor(x):
                out.add(_storage_key(x), x.untyped_storage().nbytes(), id(x), _tensor_bytes(x))
            elif x.device.type != "meta" and not issubclass(cls, torch.nn.parameter.UninitializedTensorMixin):
                out.add(("tensor", id(x)), _tensor_bytes(x), id(x), _tensor_bytes(x))
            if x.is_leaf and x.grad is not None:
                stack.append(x.grad)
            stack.extend((reduction.instance_dict(x) or {}).values())
            continue
        if cls in (list, tuple, set, frozenset):
            stack.extend(x)
            continue
        if cls is dict:
            stack.extend(x.keys())
            stack.extend(x.values())
            continue
        if cls is types.FunctionType:
            stack.extend(x.__defaults__ or ())
            stack.extend((x.__kwdefaults__ or {}).values())
            stack.extend(x.__closure__ or ())
            stack.extend(x.__dict__.values())
            if namespace is not None and x.__globals__ is namespace:
                out.global_names |= _code_global_names(x.__code__)
            continue
        if cls is types.MethodType:
            stack += [x.__func__, x.__self__]
            continue
        if cls is types.CellType:
            try:
                stack.append(x.cell_contents)
            except ValueError:
                pass
            continue
        if cls is weakref.ref:
            target = x()
            if target is not None:
                stack.append(target)
            continue
        if issubclass(cls, torch.Generator):
            out.devices.add(x.device.type)
            continue
        if np is not None and cls is np.ndarray:
            out.add(("ndarray", id(x)), x.nbytes, id(x), x.nbytes)
            if x.dtype == object:
                stack.extend(x.flat)
            continue
        if cls is functools.partial:
            stack += [x.func, *x.args, *x.keywords.values()]
            continue
        if str(getattr(cls, "__module__", "")).split(".")[0] in _SHELL_PACKAGES:
            raise _CopyError(f"a {cls.__name__} belongs to the IPython shell and is not copied")
        reduced = reduction.reduce(x)
        if reduced.by_name or reduced.deepcopy is not None:
            continue  # a global, or opaque: it copies itself
        stack.extend(reduction.parts(reduced))
    return out


def _class_global_names(cls: type, namespace: Any) -> set[str]:
    """Global names the methods of a class (and of its bases) defined in `namespace` read."""
    names: set[str] = set()
    for klass in reduction._mro_of(cls):
        for raw in reduction._dict_of(klass).values():
            for function in _class_functions(raw):
                if function.__globals__ is namespace:
                    names |= _code_global_names(function.__code__)
    return names


class HostBuffers:
    """Host storages of a retired snapshot, for the next snapshot to copy into: a cell run
    again copies the same tensors, and writing into memory already mapped costs a fraction of
    allocating it afresh (no page faults). A buffer is reused only while nothing but this pool
    refers to it."""

    def __init__(self, storages: Iterable[Any] = ()) -> None:
        self._by_size: dict[int, list[Any]] = {}
        for storage in storages:
            self._by_size.setdefault(storage.nbytes(), []).append(storage)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_size.values())

    def reuse(self, source: Any) -> Any:
        """A free buffer of `source`'s size holding a copy of its bytes, or None."""
        if source.device.type != "cpu":
            return None
        candidates = self._by_size.get(source.nbytes(), [])
        while candidates:
            buffer = candidates.pop()
            if _sole_reference(buffer):
                buffer.copy_(source)
                return buffer
        return None


def _sole_reference(storage: Any) -> bool:
    """Whether no tensor (nor anything else but this one handle) uses the storage."""
    import torch

    use_count = getattr(torch._C, "_storage_Use_Count", None)  # no public API tells
    if use_count is None:
        return False
    try:
        return use_count(storage._cdata) == 1
    except Exception:
        return False
