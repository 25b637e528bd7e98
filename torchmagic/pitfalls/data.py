"""Data-loading and threading pitfalls: DataLoader workers, and processes that each use all cores."""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Any, Iterator

from ..diagnosis import Match
from ..source.cell import Cell
from ..source.syntax import arg_at, kwarg
from ..source.values import torch_module
from .helpers import origin_match, pattern_hits
from .registry import Context, Hit, matcher, monitor, rule


_COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)

_THREADED = re.compile(r"\b(torch|numpy|tensorflow|jax|sklearn)\b")

_THREAD_LIMIT = re.compile(r"OMP_NUM_THREADS|MKL_NUM_THREADS|set_num_threads")


def _launcher(cell: Cell, call: ast.Call) -> str:
    """'popen' / 'process' / 'pool' for calls that start workers, else ''. Threads count too:
    PyTorch ops run from several Python threads at once each bring a full set of compute threads."""
    scope = cell.scope_of(call)
    if _worker_class(cell, call) is not None:
        return "process"
    path = cell.path_of(call.func, scope)
    head, _, last = path.rpartition(".")
    if not head.startswith(("subprocess", "multiprocessing", "concurrent.futures", "torch.multiprocessing",
                            "threading")):
        if not (isinstance(call.func, ast.Attribute) and _is_mp_context(cell, call.func.value, scope)):
            return ""
        last = call.func.attr  # mp.get_context("fork").Pool(...), ctx.Process(...)
    return {"Popen": "popen", "Process": "process", "Thread": "process", "Pool": "pool", "ThreadPool": "pool",
            "ProcessPoolExecutor": "pool", "ThreadPoolExecutor": "pool"}.get(last, "")


def _worker_class(cell: Cell, call: ast.Call) -> type | None:
    """The class a call builds when it is the user's own `Process` or `Thread` subclass (a
    rollout worker), whose `run` is what each started worker executes."""
    import multiprocessing.process
    import threading

    cls = cell.ctor_class(call, cell.scope_of(call))
    if isinstance(cls, type) and issubclass(cls, (multiprocessing.process.BaseProcess, threading.Thread)) \
            and not cls.__module__.startswith(("multiprocessing", "threading", "torch")):
        return cls
    return None


def _runs_torch(function: Any) -> bool:
    """Whether a function of an earlier cell computes with a threaded library (its source names
    torch, numpy...) without limiting its threads."""
    import inspect

    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    return bool(_THREADED.search(source) or "nn." in source) and not _THREAD_LIMIT.search(source)


def _is_mp_context(cell: Cell, expr: ast.AST, scope: ast.AST) -> bool:
    """Whether `expr` is a multiprocessing start-method context (`mp.get_context(...)`)."""
    if isinstance(expr, ast.Call):
        path = cell.path_of(expr.func, scope)
        return path.endswith(".get_context") and path.startswith(("multiprocessing", "torch.multiprocessing"))
    value = cell.resolve(expr, scope)
    return type(value).__module__ == "multiprocessing.context"


def _script_of(cell: Cell, call: ast.Call) -> tuple[str, str] | None:
    """(label, code) of the Python program a Popen call starts, when the cell can tell."""
    cmd = arg_at(call, 0, "args")
    parts = cmd.elts if isinstance(cmd, (ast.List, ast.Tuple)) else [cmd] if cmd is not None else []
    scope = cell.scope_of(call)
    values = []
    for part in parts:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            values.append(part.value)
        else:
            value = cell.resolve(part, scope)
            values.append(value if isinstance(value, str) else None)
    texts = [v for v in values if v is not None]
    if not any("python" in v.rsplit("/", 1)[-1].lower() or v.endswith(".py") for v in texts):
        return None
    if "-c" in texts and texts.index("-c") + 1 < len(texts):
        return "python -c", texts[texts.index("-c") + 1]
    for v in texts:
        if v.endswith(".py"):
            try:
                with open(v, encoding="utf-8", errors="replace") as fh:
                    return v.replace("\\", "/").rsplit("/", 1)[-1], fh.read(100_000)
            except OSError:
                return None
    return None


def _how_many(cell: Cell, node: ast.AST) -> str:
    """'3' when the number of processes a loop or Pool starts is known, else ''."""
    scope = cell.scope_of(node)
    it = None
    for anc in cell.ancestors(node):
        if isinstance(anc, _COMPS):
            it = anc.generators[0].iter
            break
        if isinstance(anc, (ast.For, ast.AsyncFor)):
            it = anc.iter
            break
    if it is None:
        return ""
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" and len(it.args) == 1 \
            and isinstance(it.args[0], ast.Constant):
        return str(it.args[0].value)
    value = cell.resolve(it, scope)
    if isinstance(value, (list, tuple, range, dict)):
        return str(len(value))
    if isinstance(it, (ast.List, ast.Tuple)):
        return str(len(it.elts))
    return ""


@lru_cache(maxsize=1)
def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1


@rule
def rule_cpu_oversubscription(cell: Cell) -> Iterator[Hit]:
    """Several PyTorch processes started side by side, each with as many threads as there are cores."""
    import os

    if _cpu_count() < 2 or any(v in os.environ for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        return
    if _THREAD_LIMIT.search(cell.source):
        return
    for call in cell.calls:
        kind = _launcher(cell, call)
        if not kind or kwarg(call, "env") is not None:
            continue
        if kind in ("popen", "process"):
            inside = any(isinstance(a, _COMPS + (ast.For, ast.AsyncFor, ast.While)) for a in cell.ancestors(call))
            if not inside:
                continue
        if kind == "popen":
            script = _script_of(cell, call)
            if script is None or not _THREADED.search(script[1]) or _THREAD_LIMIT.search(script[1]):
                continue
            label = script[0]
        elif _worker_class(cell, call) is not None:
            worker = _worker_class(cell, call)
            if not _runs_torch(worker.run):
                continue
            label = worker.__name__
        else:
            target = arg_at(call, 0, "target") if kind == "process" else None
            if kind == "pool":
                users = [c for c in cell.calls if isinstance(c.func, ast.Attribute)
                         and c.func.attr in ("map", "starmap", "imap", "imap_unordered", "submit", "apply_async")
                         and c.args]
                target = users[0].args[0] if users else None
            fn = cell.cell_function(ast.Call(func=target, args=[], keywords=[])) if isinstance(target, ast.Name) else None
            if fn is None or not _THREADED.search(cell.text(fn)) and "nn." not in cell.text(fn):
                continue
            label = fn.name
        n = _how_many(cell, call) if kind != "pool" else ""
        if kind == "pool":
            size = arg_at(call, 0, "processes" if cell._call_last(call) in ("Pool", "ThreadPool") else "max_workers")
            n = str(size.value) if isinstance(size, ast.Constant) and isinstance(size.value, int) else ""
            if n == "1":
                continue
        other = f"{n} × `{label}`" if n else f"`{label}`"
        yield Hit("cpu-oversubscription", call.lineno, cell.text(call.func), other)
        return
    yield from _launched_by_helpers(cell)


def _launched_by_helpers(cell: Cell) -> Iterator[Hit]:
    """The same, for the processes a function of an earlier cell starts when the cell calls it:
    its source is read as a cell of its own; the line is the cell's call."""
    import inspect
    import textwrap

    if getattr(cell, "_helper_depth", 0) or not cell.ns:
        return
    for call in cell.calls:
        if not isinstance(call.func, ast.Name) or cell.cell_function(call) is not None:
            continue
        helper = cell.ns.get(call.func.id)
        if not inspect.isfunction(helper):
            continue
        try:
            inner = Cell(textwrap.dedent(inspect.getsource(helper)), cell.ns)
        except (OSError, TypeError, SyntaxError, ValueError):
            continue
        inner._helper_depth = 1
        for hit in rule_cpu_oversubscription(inner):
            yield Hit(hit.pitfall, call.lineno, f"{call.func.id}(...)", hit.other)
            return


@monitor
def run_threads_each_with_all_cores(cell: Cell, found: Any) -> Iterator[Hit]:
    """Models run from several Python threads at once, as the run saw them, while torch still
    uses several compute threads each (whatever function, of this cell or an earlier one, the
    threads ran). The line is the cell's call that starts the threads, else the cell's line
    that was running when they trained."""
    import os

    threads = getattr(found.monitors, "threads", None) or {}
    if len(threads) < 2 or torch_module().get_num_threads() < 2 or _cpu_count() < 2 \
            or any(v in os.environ for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")) \
            or _THREAD_LIMIT.search(cell.source):
        return
    starts = [c for c in cell.calls if _launcher(cell, c) in ("pool", "process")]
    lines = [c.lineno for c in starts] or sorted(line for line in threads.values() if line)
    if lines:
        yield Hit("cpu-oversubscription", min(lines), "threads", f"{len(threads)} threads")


_PICKLING = re.compile(r"[Cc]an'?n?o?t pickle|pickl\w* error")


@matcher
def dataloader_origin(ctx: Context) -> Match | None:
    """DataLoader worker failures: the line that built the loader (num_workers, the Dataset)."""
    pid = next((p for p in ("dataloader-worker-pickle", "dataloader-shm") if pattern_hits(ctx, p)), None)
    if pid is None and _PICKLING.search(ctx.message):
        # any pickling failure (a lambda of a transform, a local class) is the workers' only
        # when a loader is being iterated: found below, else not mine
        pid = "dataloader-worker-pickle"
    if pid is None:
        return None
    torch = torch_module()
    for frame in reversed(ctx.frames):
        for name in ctx.code.read_at(frame.line):
            loader = ctx.value(name, frame)
            if isinstance(loader, torch.utils.data.DataLoader):
                facts: dict[str, Any] = {"loader": name}
                dataset_type = type(loader.dataset)
                detail = ""
                if dataset_type.__module__ == "__main__":
                    context = loader.multiprocessing_context
                    method = context.get_start_method() if context is not None else _start_method()
                    facts.update(name=dataset_type.__name__, method=method)
                    detail = "class_in_main"
                return origin_match(ctx, pid, name, frame.line, 0.85, facts, detail=detail)
    return None


def _start_method() -> str:
    import multiprocessing

    return multiprocessing.get_start_method(allow_none=True) or "fork"
