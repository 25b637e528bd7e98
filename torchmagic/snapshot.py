"""Host-memory snapshots of the namespace a cell reads, for reruns and rescue files.

Before a cell runs on the GPU, the names it can read are copied to host memory (tensors,
and the modules, optimizers and containers that hold them, with their sharing kept).
After a failure the cell can be rerun on the CPU in a *shadow* namespace built from the
snapshot, so the rerun can neither touch the user's objects nor the snapshot itself.
When the CUDA context is poisoned, the snapshot can be written to a rescue file and
loaded back after a kernel restart into freshly re-created objects.
"""
from __future__ import annotations

import abc
import ast
import builtins
import copy
import datetime as _dt
import dis
import enum
import functools
import keyword
import os
import random
import re
import sys
import time
import types
import warnings
import weakref
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import reduction
from .diagnosis import describe, safe_str
from .source.cellcode import parse

__all__ = [
    "names_read_by",
    "Snapshot",
    "take_snapshot",
    "RngState",
    "capture_rng",
    "rng_restored",
    "save_rescue",
    "RestoreReport",
    "restore_rescue",
    "RESCUE_DIR",
]

#: Folder (relative to the working directory) where rescue files go by default.
RESCUE_DIR = "torchmagic-rescue"
_RESCUE_FORMAT = "torchmagic-rescue"
_RESCUE_VERSION = 1

_BUILTIN_NAMES = frozenset(dir(builtins))
# Calls that can read any name of the namespace, whatever the source says.
_DYNAMIC_READERS = frozenset({"globals", "locals", "vars", "eval", "exec", "dir", "__import__"})
# IPython's own bookkeeping names: history and output caches, never what a cell means to read.
_IPYTHON_HISTORY = re.compile(r"^(In|Out|_ih|_oh|_dh|_i{1,3}|_i\d+|_\d+|_{1,3}|exit|quit|get_ipython)$")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The shell's own handles: a rerun must not copy (or drive) the shell.
_SHELL_NAMES = frozenset({"get_ipython", "exit", "quit"})


# ---------------------------------------------------------------------------------------
# What a cell reads
# ---------------------------------------------------------------------------------------


def names_read_by(source: str, namespace: Mapping[str, Any] | None = None) -> set[str]:
    """Names the cell can read from the namespace: loaded names at module level and free
    names of the functions/classes it defines (AST), minus builtins. Conservative: when in
    doubt include.

    A name the cell binds unconditionally before its first read (``model = Net()`` at top
    level) is not read from the namespace and is left out. IPython syntax (magics, ``!``
    commands) is accepted; names inside magic arguments are included.

    With `namespace` the answer is sharper where the source alone cannot tell: a builtin
    name that the namespace redefines (``input = torch.randn(3)``) is kept, and a cell that
    reads the namespace dynamically (``globals()``, ``eval``...) is taken to read every
    user name of it.
    """
    static, dynamic = _static_reads(source)
    names = set(static)
    if namespace is not None:
        names = {n for n in names if n not in _BUILTIN_NAMES or n in namespace}
        if dynamic:
            names |= {
                n
                for n in namespace
                if not (n.startswith("__") and n.endswith("__")) and not _IPYTHON_HISTORY.match(n)
            } - _SHELL_NAMES
    else:
        names -= _BUILTIN_NAMES
    return names


@functools.lru_cache(maxsize=64)
def _static_reads(source: str) -> tuple[frozenset[str], bool]:
    """What the source alone says: the names the cell may read, and whether it reads the
    namespace dynamically. Cached, since notebooks rerun the same cells."""
    tree = _parse_cell(source)
    if tree is None:
        # Not even IPython can make sense of it: every identifier may be a read.
        names = set(_IDENTIFIER.findall(source)) - set(keyword.kwlist)
        dynamic = bool(names & _DYNAMIC_READERS)
    else:
        names = _module_reads(tree)
        in_strings, user_ns = _indirect_reads(tree)
        names |= in_strings
        dynamic = bool(names & _DYNAMIC_READERS) or user_ns
    return frozenset(names - _SHELL_NAMES), dynamic


def _parse_cell(source: str) -> ast.Module | None:
    try:
        return parse(source)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:
        return None


def _module_reads(tree: ast.Module) -> set[str]:
    """Reads of the top-level statements, minus names bound unconditionally before."""
    return _block_reads(tree.body, set())[0]


def _block_reads(body: list[ast.stmt], bound: set[str]) -> tuple[set[str], set[str]]:
    """Reads of a block run in order (a name bound earlier in the block is not read), and
    the names bound once the block has run.

    Bindings inside ``if``/``for``/``while``/``try`` count for the rest of their own block
    only, since it may not run (to the end); a ``with`` body always runs.
    """
    bound = set(bound)
    reads: set[str] = set()
    for stmt in body:
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            reads |= _reads_in([stmt.iter]) - bound
            reads |= _block_reads(stmt.body, bound | _target_names(stmt.target))[0]
            reads |= _block_reads(stmt.orelse, bound)[0]
        elif isinstance(stmt, (ast.While, ast.If)):
            reads |= _reads_in([stmt.test]) - bound
            reads |= _block_reads(stmt.body, bound)[0]
            reads |= _block_reads(stmt.orelse, bound)[0]
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            inner = set(bound)
            for item in stmt.items:
                reads |= _reads_in([item.context_expr]) - inner
                if item.optional_vars is not None:
                    reads |= _reads_in([item.optional_vars]) - inner  # `as obj.attr` reads obj
                    inner |= _target_names(item.optional_vars)
            inner_reads, bound = _block_reads(stmt.body, inner)
            reads |= inner_reads
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            reads |= _block_reads(stmt.body, bound)[0]
            for handler in stmt.handlers:
                if handler.type is not None:
                    reads |= _reads_in([handler.type]) - bound
                reads |= _block_reads(handler.body, bound | ({handler.name} if handler.name else set()))[0]
            reads |= _block_reads(stmt.orelse, bound)[0]
            reads |= _block_reads(stmt.finalbody, bound)[0]
        elif isinstance(stmt, ast.Match):
            reads |= _reads_in([stmt.subject]) - bound
            for case in stmt.cases:
                captured = _local_bindings([case.pattern], set())
                reads |= _reads_in([case.pattern]) - bound
                if case.guard is not None:
                    reads |= _reads_in([case.guard]) - (bound | captured)
                reads |= _block_reads(case.body, bound | captured)[0]
        else:
            reads |= _reads_in([stmt]) - bound
        if isinstance(stmt, ast.Delete):
            bound -= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        bound |= _unconditional_bindings(stmt)
    return reads, bound


def _unconditional_bindings(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement surely binds when it completes."""
    if isinstance(stmt, ast.Assign):
        out: set[str] = set()
        for target in stmt.targets:
            out |= _target_names(target)
        return out
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return _target_names(stmt.target)
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, ast.Import):
        return {(a.asname or a.name.split(".")[0]) for a in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        return {(a.asname or a.name) for a in stmt.names if a.name != "*"}
    return set()


def _target_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        out: set[str] = set()
        for elt in target.elts:
            out |= _target_names(elt)
        return out
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return set()  # attribute or subscript targets bind nothing


def _reads_in(nodes: Iterable[ast.AST]) -> set[str]:
    """Names read by `nodes` in the current scope, plus the free names of nested scopes."""
    out: set[str] = set()
    for node in nodes:
        _collect_reads(node, out)
    return out


def _collect_reads(node: ast.AST, out: set[str]) -> None:
    if isinstance(node, ast.Name):
        if not isinstance(node.ctx, ast.Store):
            out.add(node.id)
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        # Decorators, defaults and annotations are evaluated where the function is defined.
        out |= _reads_in(node.decorator_list)
        out |= _argument_reads(node.args)
        if node.returns is not None:
            _collect_reads(node.returns, out)
        out |= _function_free_names(node.args, node.body)
        return
    if isinstance(node, ast.Lambda):
        out |= _argument_reads(node.args)
        out |= _function_free_names(node.args, [node.body])
        return
    if isinstance(node, ast.ClassDef):
        out |= _reads_in(node.decorator_list)
        out |= _reads_in(node.bases)
        out |= _reads_in(k.value for k in node.keywords)
        # A class body's own names shadow globals only in some orders: keep them all.
        out |= _reads_in(node.body)
        return
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        generators = node.generators
        # The first iterable is evaluated in the enclosing scope.
        _collect_reads(generators[0].iter, out)
        inner: list[ast.AST] = []
        for i, gen in enumerate(generators):
            if i:
                inner.append(gen.iter)
            inner.extend(gen.ifs)
        if isinstance(node, ast.DictComp):
            inner += [node.key, node.value]
        else:
            inner.append(node.elt)
        local: set[str] = set()
        for gen in generators:
            local |= _target_names(gen.target)
        out |= _reads_in(inner) - local
        return
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        out.add(node.target.id)
    for child in ast.iter_child_nodes(node):
        _collect_reads(child, out)


def _argument_reads(args: ast.arguments) -> set[str]:
    nodes: list[ast.AST] = [d for d in args.defaults if d is not None]
    nodes += [d for d in args.kw_defaults if d is not None]
    every = args.posonlyargs + args.args + args.kwonlyargs
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    nodes += [a.annotation for a in every if a.annotation is not None]
    return _reads_in(nodes)


def _function_free_names(args: ast.arguments, body: list[ast.stmt] | list[ast.expr]) -> set[str]:
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    declared: set[str] = set()
    local = params | _local_bindings(body, declared)
    return _reads_in(body) - (local - declared)


def _local_bindings(body: Iterable[ast.AST], declared: set[str]) -> set[str]:
    """Names a function body binds (its locals), not looking inside nested scopes.

    Names declared ``global``/``nonlocal`` are added to `declared`.
    """
    out: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                out.add(node.id)
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
            # Decorators, defaults and bases belong to this scope.
            stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend(node.bases)
            else:
                stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            continue
        if isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
        elif isinstance(node, ast.Import):
            out |= {(a.asname or a.name.split(".")[0]) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out |= {(a.asname or a.name) for a in node.names if a.name != "*"}
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            out.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            out.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _indirect_reads(tree: ast.Module) -> tuple[set[str], bool]:
    """Reads the names alone do not show: identifiers in the string arguments of
    ``get_ipython().<method>(...)`` calls, and whether the cell reaches into ``user_ns``.

    Magics such as ``%time`` or ``%timeit`` run their argument as code, and ``!cmd {x}``
    expands names: every identifier there may be a read.
    """
    out: set[str] = set()
    user_ns = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("user_ns", "user_global_ns"):
            user_ns = True
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
            continue
        for arg in node.args[1:] if node.func.attr.startswith("run_") else node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out |= set(_IDENTIFIER.findall(arg.value)) - set(keyword.kwlist)
    return out, user_ns


@functools.lru_cache(maxsize=1024)
def _code_global_names(code: types.CodeType) -> frozenset[str]:
    """Global names that a code object (and the code nested in it) reads or writes."""
    ops = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS"}
    out = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ops and isinstance(ins.argval, str)}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _code_global_names(const)
    return frozenset(out)


# ---------------------------------------------------------------------------------------
# What can be shared, and how the rest is copied
# ---------------------------------------------------------------------------------------

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
        :mod:`torchmagic.reduction`)."""
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


# ---------------------------------------------------------------------------------------
# Random number generators
# ---------------------------------------------------------------------------------------


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


@dataclass
class RngState:
    """The state of the global random generators: torch CPU and CUDA, numpy, `random`."""

    torch_cpu: Any
    torch_cuda: list[Any] | None = None  # one state per device, when CUDA was initialised
    numpy: Any = None
    python: Any = None

    def restore(self) -> None:
        """Set all generators back to the captured state.

        A CUDA context that can no longer be used keeps its generators as they are: a
        failed CUDA kernel must not also break the CPU rerun that follows it.
        """
        import torch

        torch.set_rng_state(self.torch_cpu)
        if self.torch_cuda is not None:
            try:
                if torch.cuda.is_available() and torch.cuda.device_count() == len(self.torch_cuda):
                    torch.cuda.set_rng_state_all(self.torch_cuda)
            except RuntimeError:
                pass
        if self.numpy is not None:
            np = _numpy()
            if np is not None:
                np.random.set_state(self.numpy)
        if self.python is not None:
            random.setstate(self.python)


def capture_rng() -> RngState:
    """Capture the state of every global random generator."""
    import torch

    cuda = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        try:
            cuda = [s.clone() for s in torch.cuda.get_rng_state_all()]
        except RuntimeError:
            cuda = None
    np = _numpy()
    return RngState(
        torch_cpu=torch.get_rng_state(),
        torch_cuda=cuda,
        numpy=np.random.get_state() if np is not None else None,
        python=random.getstate(),
    )


@contextmanager
def rng_restored(state: RngState) -> Iterator[None]:
    """Within the block, generators start from `state`; on exit they are put back to what they
    were before the block (so a rerun doesn't shift the user's random streams)."""
    before = capture_rng()
    try:
        state.restore()
        yield
    finally:
        before.restore()


# ---------------------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# Rescue files
# ---------------------------------------------------------------------------------------


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
