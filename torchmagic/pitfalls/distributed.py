"""Distributed-training pitfalls: DDP, DistributedSampler, the ranks of a job, `mp.spawn`.

Besides its matchers and lint rules, the family builds the diagnosis of a hang:
:func:`hang_diagnosis` turns where each rank of a job waits (as the command line's ranks
posted it) into the report of collectives called in a different order.
"""
from __future__ import annotations

import ast
import re
from typing import Any, Callable, Iterator

from ..diagnosis import Diagnosis, ErrorInfo, Match
from ..source.cell import Cell
from ..source.syntax import arg_at, is_false, kwarg
from .helpers import pattern_hits
from .registry import Context, Hit, matcher, rule

_DDP = ("DistributedDataParallel", "DDP")
_SPAWN = ("spawn", "start_processes")
_MAIN_ATTRIBUTE = re.compile(r"Can't get attribute '([^']+)' on <module '__main__'|"
                             r"attribute lookup (\S+) on __main__ failed|"
                             r"Can't pickle <function (<lambda>|[\w.]+)|Can't pickle local object '([^']+)'")
_EXITED = re.compile(r"process \d+ terminated with (?:exit code|signal)", re.IGNORECASE)
_UNUSED = re.compile(r"(?:Parameters|Parameter indices) which did not receive grad for rank (\d+): ([^\n]+)")
#: Words of a condition that asks which rank runs (`if rank == 0`, `if is_main_process():`).
_RANK_GUARD = re.compile(r"rank|is_main|main_process|master|global_zero|is_primary|local_process_zero")


def _last(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _calls(tree: ast.AST | None, names: tuple[str, ...]) -> list[ast.Call]:
    if tree is None:
        return []
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _last(n) in names]
    return sorted(found, key=lambda c: (c.lineno, c.col_offset))


# ------------------------------------------------------------------------------ errors
@matcher
def ddp_unused_parameters(ctx: Context) -> Match | None:
    """DDP's reduction left unfinished: the line that wrapped the model without
    `find_unused_parameters`, and the parameters the message names."""
    if not pattern_hits(ctx, "ddp-unused-parameters"):
        return None
    facts: dict[str, Any] = {}
    unused = _UNUSED.search(ctx.message)
    if unused:
        facts.update(rank=unused.group(1), params=unused.group(2).strip())
    wraps = [c for c in _calls(ctx.code.tree, _DDP) if kwarg(c, "find_unused_parameters") is None]
    if not wraps:
        return Match("ddp-unused-parameters", 0.8, facts=facts, detail="unused" if unused else "")
    call = wraps[-1]
    model = arg_at(call, 0, "module")
    if unused:
        facts["params"] = _parameter_names(ctx, call, facts["params"])
    facts.update(name=ast.unparse(model) if model is not None else "model", line=call.lineno)
    related = [ctx.line] if ctx.line is not None and ctx.line != call.lineno else []
    return Match("ddp-unused-parameters", 0.9, line=call.lineno, related_lines=related, facts=facts,
                 detail="unused" if unused else "wrapped")


def _parameter_names(ctx: Context, call: ast.Call, indices: str) -> str:
    """The names of the parameters DDP gave by index ("2 3" -> "aux.weight, aux.bias"), read
    from the wrapped model the cell holds; the indices as given when it holds none."""
    import torch

    parent = ctx.code.parent(call)
    targets = parent.targets if isinstance(parent, ast.Assign) else []
    wrapped = ctx.value(ast.unparse(targets[0])) if targets else None
    if not isinstance(wrapped, torch.nn.parallel.DistributedDataParallel) or not re.fullmatch(r"[\d ]+", indices):
        return indices
    names = [name for name, p in wrapped.module.named_parameters() if p.requires_grad]
    picked = [names[int(i)] for i in indices.split() if int(i) < len(names)]
    return ", ".join(f"`{n}`" for n in picked) if picked else indices


@matcher
def spawn_cell_function(ctx: Context) -> Match | None:
    """`mp.spawn` of a function the new processes cannot import (defined in a cell, a lambda,
    a nested function): the spawn call's line. The processes fail while unpickling it, before
    torch can send their error back, so the parent often sees no more than an exit code."""
    named = _MAIN_ATTRIBUTE.search(ctx.message)
    exited = _EXITED.search(ctx.message)
    if named is None and exited is None:
        return None
    spawns = _calls(ctx.code.tree, _SPAWN)
    lines = {f.line for f in ctx.frames} | ({ctx.line} if ctx.line is not None else set())
    here = [c for c in spawns if set(range(c.lineno, (c.end_lineno or c.lineno) + 1)) & lines]
    if not here:
        return None
    call = here[-1]
    function = arg_at(call, 0, "fn")
    value = ctx.value(ast.unparse(function)) if isinstance(function, (ast.Name, ast.Attribute)) else None
    if named is None and not _not_importable(value):
        return None
    name = next((g for g in named.groups() if g), "") if named is not None else ""
    if not name and function is not None:
        name = ast.unparse(function)
    local = name == "<lambda>" or (named is not None and named.group(4) is not None) or \
        "<locals>" in getattr(value, "__qualname__", "")
    return Match("spawn-cell-function", 0.9, line=call.lineno, facts={"name": name},
                 detail="lambda" if local else "function")


def _not_importable(function: Any) -> bool:
    """Whether a process started afresh cannot import `function` by its module and name: a
    lambda or nested function, or one of `__main__` that the main module's file does not
    define (a notebook's cell)."""
    import sys

    code = getattr(function, "__code__", None)
    if code is None:
        return False
    if "<locals>" in getattr(function, "__qualname__", "") or function.__name__ == "<lambda>":
        return True
    if getattr(function, "__module__", None) != "__main__":
        return False
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    return main is None or code.co_filename != main


# ------------------------------------------------------------------------------ silent
@rule
def rule_sampler_set_epoch(cell: Cell) -> Iterator[Hit]:
    """A DistributedSampler iterated over several epochs without `set_epoch`."""
    if "set_epoch" in cell.source or "DistributedSampler" not in cell.source:
        return
    epochs = [n for n in cell.nodes if isinstance(n, ast.For)
              and any(isinstance(m, ast.For) and m is not n for m in ast.walk(n))]
    if not epochs:
        return
    for call in cell.calls:
        if _last(call) != "DistributedSampler" or is_false(kwarg(call, "shuffle")):
            continue
        parent = cell.parents.get(call)
        if isinstance(parent, ast.Assign) and isinstance(parent.targets[0], ast.Name):
            name = parent.targets[0].id
        else:
            name = "DistributedSampler(...)"
        yield Hit("distributed-sampler-epoch", call.lineno, name)
        return


def _has_plain_batchnorm(value: Any) -> bool | None:
    """Whether a module holds BatchNorm layers that are not SyncBatchNorm (None: not a module)."""
    import torch

    if not isinstance(value, torch.nn.Module):
        return None
    norms = (torch.nn.modules.batchnorm._BatchNorm,)
    return any(isinstance(m, norms) and not isinstance(m, torch.nn.SyncBatchNorm) for m in value.modules())


@rule
def rule_ddp_batchnorm(cell: Cell) -> Iterator[Hit]:
    """A model with plain BatchNorm wrapped in DistributedDataParallel."""
    if "convert_sync_batchnorm" in cell.source or "SyncBatchNorm" in cell.source:
        return
    for call in cell.calls:
        if _last(call) not in _DDP:
            continue
        model = arg_at(call, 0, "module")
        if model is None:
            continue
        scope = cell.scope_of(call)
        value = cell.resolve(model, scope) if cell.ns is not None else None
        plain = _has_plain_batchnorm(value)
        if plain is None:  # not known from the namespace: the cell's own words
            plain = "BatchNorm" in cell.source
        if plain:
            yield Hit("ddp-batchnorm-not-synced", call.lineno, cell.text(model), f"`{cell.text(model)}`")
            return


def _distributed(cell: Cell) -> bool:
    return any(word in cell.source for word in ("init_process_group", "DistributedDataParallel", "torchrun"))


@rule
def rule_checkpoint_every_rank(cell: Cell) -> Iterator[Hit]:
    """`torch.save` in code that every rank of a job runs, not under a rank condition."""
    if not _distributed(cell):
        return
    for call in cell.calls:
        if _last(call) != "save" or not cell.path_of(call.func, cell.scope_of(call)).startswith("torch"):
            continue
        if any(isinstance(a, (ast.If, ast.IfExp)) and _RANK_GUARD.search(cell.text(a.test))
               for a in cell.ancestors(call)):
            continue
        function = cell.function_of(call)
        if function is not None and _RANK_GUARD.search(getattr(function, "name", "")):
            continue
        yield Hit("checkpoint-every-rank", call.lineno, cell.text(call.func))
        return


# ------------------------------------------------------------------------------ hangs
def hang_diagnosis(states: dict[int, dict], source: str, path: str, lang: str, seconds: float,
                   label: Callable[[str], str]) -> Diagnosis | None:
    """The diagnosis of ranks that wait in different collectives, from the state each rank
    posted (``{"collective": {"op", "seq", "file", "line", ...}, "where": {...}}``): the
    line where the lowest rank waits is the line shown, the other ranks' lines in the same
    file are related ones. None when not every rank waits in a collective."""
    from ..cli.words import say

    waiting = {rank: s["collective"] for rank, s in sorted(states.items()) if s.get("collective")}
    if not waiting or len(waiting) != len(states):
        return None
    places = []
    for rank, c in waiting.items():
        where = say("where", lang, file=label(c.get("file", "")), line=c.get("line", 0)) if c.get("file") else "?"
        places.append(say("rank_in", lang, rank=rank, op=c.get("op", "?"), seq=c.get("seq", 0), where=where))
    ranks = ("；" if lang == "zh" else "; ").join(places)
    ours = [c for c in waiting.values() if c.get("file") == path and c.get("line")]
    line = ours[0]["line"] if ours else None
    related = sorted({c["line"] for c in ours[1:] if c["line"] != line})
    diagnosis = Diagnosis(ok=False, cell=source, filename=path, language=lang, line=line, related_lines=related,
                          error=ErrorInfo("DistributedHang", say("hang_message", lang, ranks=ranks)))
    diagnosis.matches = [Match("collective-order-mismatch", 1.0, line=line, related_lines=related,
                               facts={"ranks": ranks})]  # the message names each rank's place
    diagnosis.notes.append(say("hang_note", lang, seconds=seconds))
    return diagnosis
