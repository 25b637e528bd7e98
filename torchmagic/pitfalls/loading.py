"""Data-loading pitfalls of the DataLoader itself: samples the default collate cannot batch,
empty datasets, iterating a loader by hand, pinned memory and CUDA in worker processes.

The DataLoader raises where the batch is asked for (`next(iter(loader))`, the `for` line),
but what needs changing is the Dataset's `__getitem__` or `__init__`, often in an earlier
cell. The rules take the dataset from torch's frames and find those lines in its class.
"""
from __future__ import annotations

import ast
import re
from typing import Any

from ..diagnosis import Match
from ..source.values import is_tensor, torch_module
from ..source.cellcode import call_name, dotted
from .helpers import failing_place, object_site, pattern_hits, place
from .registry import Context, matcher
from .training import (at, class_source, method_of, named, place_facts, raised_in, self_assignment, torch_frames,
                       torch_local)

_COLLATE = "torch/utils/data/_utils/collate.py"


def _dataset(ctx: Context) -> Any:
    """The dataset the failing loader reads: from the fetcher, the loader's iterator, the
    sampler or the DataLoader's own constructor, whichever the traceback holds."""
    for frame in reversed(list(torch_frames(ctx))):
        local = frame.f_locals
        owner = local.get("self")
        for attr in ("dataset", "_dataset", "data_source"):
            found = getattr(owner, "__dict__", {}).get(attr) if owner is not None else None
            if found is not None:
                return found
        if "dataset" in local and frame.f_code.co_name == "__init__" and "dataloader" in frame.f_code.co_filename:
            return local["dataset"]
    return None


def _getitem(ctx: Context, dataset: Any) -> tuple[str, ast.ClassDef, ast.FunctionDef] | None:
    source = class_source(ctx, type(dataset)) if dataset is not None else None
    if source is None:
        return None
    filename, _, node = source
    getitem = method_of(node, "__getitem__")
    return (filename, node, getitem) if getitem is not None else None


def _returns(func: ast.FunctionDef) -> list[ast.Return]:
    """The function's own return statements (not those of functions nested in it)."""
    out = []
    stack = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return sorted(out, key=lambda r: r.lineno)


@matcher
def collate_variable_length(ctx: Context) -> Match | None:
    """Samples of different sizes batched by the default collate: where `__getitem__` makes
    the element whose size varies (read from the run's record of those tensors)."""
    in_collate = raised_in(ctx, _COLLATE) or "collate" in ctx.message and "Caught" in ctx.message
    sized = re.search(r"stack expects each tensor to be equal size|Sizes of tensors must match|"
                      r"Trying to resize storage that is not resizable", ctx.message)
    if not (pattern_hits(ctx, "collate-variable-length") or in_collate and sized):
        return None
    line, cause = failing_place(ctx)
    facts: dict[str, Any] = {}
    m = re.search(r"got \[([^\]]*)\] at entry (\d+) and \[([^\]]*)\] at entry (\d+)", ctx.message)
    if m:
        facts.update(first=f"[{m.group(1)}]", other=f"[{m.group(3)}]", entry=m.group(4))
    key = torch_local(ctx, "<dictcomp>", "key", _COLLATE) or torch_local(ctx, "collate", "key", _COLLATE)
    facts["element"] = f"['{key}']" if isinstance(key, str) else ""
    batch = torch_local(ctx, "collate_tensor_fn", "batch", _COLLATE)
    detail = "shapes" if m else ""
    odd = None
    if isinstance(batch, (list, tuple)) and batch and all(is_tensor(t) for t in batch):
        odd = next((t for t in batch if t.shape != batch[0].shape), batch[0])
    record = ctx.record(odd) if odd is not None else None
    where = place(ctx, [record]) if record is not None else None
    if where is None:
        found = _getitem(ctx, _dataset(ctx))
        if found is not None:
            filename, _, getitem = found
            returns = _returns(getitem)
            where = at(ctx, filename, returns[-1].lineno if returns else getitem.lineno, "__getitem__")
    if where is None:
        return Match("collate-variable-length", 0.95, line=line, facts=facts, detail=detail, cause=cause)
    facts.update(place_facts(ctx, where, "made"))
    built = _loader_built(ctx, line) if where[1] is not None and where[0] == line else None
    if built is not None:
        where = (built, where[1])  # the Dataset is an earlier cell's: a collate_fn goes on the cell's loader
    related = [line] if line and line != where[0] else []
    return Match("collate-variable-length", 0.95, line=where[0], related_lines=related, facts=facts,
                 detail=detail, cause=where[1])


def _loader_built(ctx: Context, line: int | None) -> int | None:
    """The cell's line that built the DataLoader read on `line`, when the cell built it."""
    from torch.utils.data import DataLoader

    for name in ctx.code.read_at(line) if line else []:
        loader = ctx.value(name)
        if isinstance(loader, DataLoader):
            site = object_site(ctx, loader)
            if site is not None and site.filename == ctx.filename and site.line != line:
                return site.line
    return None


@matcher
def empty_dataset(ctx: Context) -> Match | None:
    """A shuffling DataLoader over a dataset of length 0: the line that filled what
    `__len__` counts (a file list from a glob that matched nothing, say)."""
    if not pattern_hits(ctx, "empty-dataset"):
        return None
    line, cause = failing_place(ctx)
    dataset = _dataset(ctx)
    facts: dict[str, Any] = {"cls": type(dataset).__name__} if dataset is not None else {}
    source = class_source(ctx, type(dataset)) if dataset is not None else None
    length = method_of(source[2], "__len__") if source is not None else None
    if length is not None:
        counted = [dotted(c.args[0]) for c in ast.walk(length) if isinstance(c, ast.Call)
                   and call_name(c) == "len" and c.args and (dotted(c.args[0]) or "").startswith("self.")]
        stmt = self_assignment(source[2], counted[0][len("self."):]) if counted else None
        if stmt is not None:
            facts["attr"] = counted[0]
            where = at(ctx, source[0], stmt.lineno, "__init__")
            facts.update(place_facts(ctx, where, "filled"))
            related = [line] if line and line != where[0] else []
            return Match("empty-dataset", 0.9, line=where[0], related_lines=related, facts=facts, detail="attr",
                         cause=where[1])
    return Match("empty-dataset", 0.9, line=line, facts=facts, detail="cls" if facts else "", cause=cause)


@matcher
def collate_sample_type(ctx: Context) -> Match | None:
    """A sample the default collate cannot batch (None for a skipped item, a PIL image without
    ToTensor): the `return` in `__getitem__` that hands it over."""
    m = re.search(r"batch must contain tensors,[^;]*; found <class '([\w.]+)'>", ctx.message)
    if m is None and not pattern_hits(ctx, "collate-sample-type"):
        return None
    line, cause = failing_place(ctx)
    found_type = m.group(1) if m else ""
    facts: dict[str, Any] = {"type": found_type}
    detail = "none" if found_type == "NoneType" else "image" if "PIL" in found_type else "type"
    item = _getitem(ctx, _dataset(ctx))
    if item is None:
        return Match("collate-sample-type", 0.9, line=line, facts=facts, detail=detail, cause=cause)
    filename, node, getitem = item
    facts["cls"] = node.name
    returns = _returns(getitem)
    if detail == "none":
        bad = [r for r in returns if r.value is None or isinstance(r.value, ast.Constant) and r.value.value is None]
        if not bad and not isinstance(getitem.body[-1], (ast.Return, ast.Raise)):
            detail = "no_return"  # the end of __getitem__ is reached without a return
        target = bad[0].lineno if bad else (getitem.body[-1].end_lineno or getitem.body[-1].lineno)
    else:
        target = returns[-1].lineno if returns else getitem.lineno
    where = at(ctx, filename, target, "__getitem__")
    facts.update(place_facts(ctx, where, "returned"))
    related = [line] if line and line != where[0] else []
    return Match("collate-sample-type", 0.9, line=where[0], related_lines=related, facts=facts, detail=detail,
                 cause=where[1])


@matcher
def dataloader_iteration(ctx: Context) -> Match | None:
    """A DataLoader used like an iterator or a list (`next(loader)`, `it.next()`, `loader[0]`)."""
    if not pattern_hits(ctx, "dataloader-iteration"):
        return None
    line, cause = failing_place(ctx)
    torch = torch_module()
    frame = ctx.innermost
    loader = next((n for n in (frame.code.read_at(frame.line) if frame is not None else [])
                   if isinstance(ctx.value(n, frame), torch.utils.data.DataLoader)), "")
    iterator = next((n for n in (frame.code.read_at(frame.line) if frame is not None else [])
                     if type(ctx.value(n, frame)).__name__.endswith("DataLoaderIter")), "")
    message = ctx.message
    detail = "next" if "not an iterator" in message else "method" if "'next'" in message else "index"
    facts = {"name": loader or iterator or "loader"}
    return Match("dataloader-iteration", 0.9, line=line, facts=facts, detail=detail, cause=cause)


@matcher
def pin_memory_cuda(ctx: Context) -> Match | None:
    """`pin_memory=True` on batches that are already on the GPU (a collate_fn or Dataset that
    moves them): the DataLoader's line."""
    if not pattern_hits(ctx, "pin-memory-cuda"):
        return None
    line, cause = failing_place(ctx)
    torch = torch_module()
    loader = next(((n, v) for n, v in named(ctx, lambda v: isinstance(v, torch.utils.data.DataLoader))
                   if v.pin_memory), None)
    if loader is None:
        return Match("pin-memory-cuda", 0.9, line=line, cause=cause)
    from .training import bound_line

    where = bound_line(ctx, loader[0]) or (line, cause)
    related = [line] if line and line != where[0] else []
    return Match("pin-memory-cuda", 0.9, line=where[0], related_lines=related, facts={"name": loader[0]},
                 detail="loader", cause=where[1])


@matcher
def cuda_forked_worker(ctx: Context) -> Match | None:
    """CUDA used in a process forked after the parent initialised CUDA (DataLoader workers,
    multiprocessing pools): name the start method."""
    if not pattern_hits(ctx, "cuda-forked-worker"):
        return None
    import multiprocessing

    line, cause = failing_place(ctx)
    facts = {"method": multiprocessing.get_start_method(allow_none=True) or "fork"}
    return Match("cuda-forked-worker", 0.9, line=line, facts=facts, detail="method", cause=cause)
