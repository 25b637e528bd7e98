"""The autograd family's run checks: silent autograd pitfalls read from what the run recorded
(targets with history, a copied network trained by mistake, gradients never reset, graphs kept
across steps, a loss or parameters that ended non-finite)."""
from __future__ import annotations

import ast
from typing import Any, Iterator

from ...source.cell import Cell
from ...source.values import MISSING, is_module
from ...evidence.queries import nonfinite_origin
from ..helpers import names_of, run_line
from ..registry import Hit, monitor


# ---------------------------------------------------------------------------- run checks
@monitor
def run_target_requires_grad(cell: Cell, found: Any) -> Iterator[Hit]:
    """A loss given a target that requires grad, as the run saw it: where the target was made
    (in the cell, or the cell's line that made it), else the loss's line."""
    for seen in found.observations:
        if seen.kind != "target-requires-grad":
            continue
        target = seen.facts.get("record")
        line = run_line(found, target.site, target.cell_line) if target is not None and target.site else None
        line = line or run_line(found, seen.site, seen.cell_line)
        if line is not None:
            yield Hit("target-requires-grad", line, "the target", seen.facts.get("loss", "the loss"))


@monitor
def run_target_network_trained(cell: Cell, found: Any) -> Iterator[Hit]:
    """A copy of a trained model (a teacher, a target or EMA network) that no optimizer steps,
    whose parameters got gradients anyway: what it made reached a loss as a target that
    still requires grad. The line is where the cell ran it."""
    optimized: set[int] = set()
    for step in found.steps:
        optimizer = step.optimizer()
        if optimizer is not None:
            optimized |= {id(p) for group in optimizer.param_groups for p in group["params"]}
    if not optimized:
        return
    layers = [f for f in found.forwards if f.layer is not None]
    trained = [f.layer for f in layers if any(id(p) in optimized for p in f.layer.parameters())]

    def shapes(module: Any) -> list:
        return [tuple(p.shape) for p in module.parameters()]

    for forward in layers:
        module = forward.layer
        params = list(module.parameters())
        if not params or any(id(p) in optimized for p in params) or all(p.grad is None for p in params):
            continue
        if not any(type(t) is type(module) and shapes(t) == shapes(module) for t in trained):
            continue
        line = run_line(found, forward.site, forward.cell_line)
        if line is not None:
            yield Hit("target-requires-grad", line, f"{_held_as(cell, module)}(...)", "the loss")
            return


def _held_as(cell: Cell, module: Any) -> str:
    """How the cell's namespace reaches a module: its name, or `obj.attribute` one level down."""
    names = names_of(cell, module)
    if names:
        return names[0]
    for name, value in list((cell.ns or {}).items()):
        attrs = getattr(value, "__dict__", None)
        if name.startswith("_") or not isinstance(attrs, dict) or is_module(value):
            continue
        attr = next((a for a, v in list(attrs.items()) if v is module), None)
        if attr is not None:
            return f"{name}.{attr}"
    return type(module).__name__


@monitor
def run_gradients_never_reset(cell: Cell, found: Any) -> Iterator[Hit]:
    """An optimizer stepping again after backward passes with none of its gradients reset
    since its previous step: they add up. The line is where it steps (or the cell's line
    that ran the loop)."""
    last: dict[int, Any] = {}
    for step in found.steps:
        key = id(step.optimizer)
        previous = last.get(key)
        last[key] = step
        if previous is None or step.first or step.reset or step.generation <= previous.generation:
            continue
        line = run_line(found, step.site, step.cell_line)
        if line is not None:
            yield Hit("grad-accumulation", line, "backward()", "optimizer.step()")
            return


@monitor
def run_graphs_kept(cell: Cell, found: Any) -> Iterator[Hit]:
    """Tensors that still hold their graph after later optimizer steps: kept in a list or a
    running total, every step's graph stays in memory. The line is where the cell keeps them
    (`.append`, `+=`), else where they are made."""
    for record in getattr(found.monitors, "kept", ()):  # a running total holding the stepped losses' graphs
        line = run_line(found, record.site, record.cell_line)
        if line is not None:
            yield Hit("history-accumulation", line, "the total", "a tensor with history")
            return
    recorder = found.recorder
    if recorder is None or len(found.steps) < 2:
        return
    last_step = recorder.generation  # backward passes of the whole run (found.steps holds the first few)
    old = []
    for tensor, record in list(recorder.table.items()):
        if record.grad_fn and record.op is not None and record.generation + 1 < last_step \
                and record.site is not None:
            old.append(record)
    # one line's tensors kept from several passes: a graph kept per iteration. One graph kept
    # (features made before a loop), or the last iteration's tensors of a loop that runs several
    # backward passes per iteration (a GAN's), each made by its own line, is not this.
    passes: dict[tuple, set[int]] = {}
    for r in old:
        passes.setdefault((r.site.filename, r.site.line), set()).add(r.generation)
    old = [r for r in old if len(passes[(r.site.filename, r.site.line)]) >= 2]
    for record in sorted(old, key=lambda r: r.order):
        line = run_line(found, record.site, record.cell_line)
        if line is None:
            continue
        kept = _kept_at(cell, line) or _backpropagated_and_kept(cell)
        yield Hit("history-accumulation", kept or line, "the list" if kept else "the tensor", "a tensor with history")
        return


def _backpropagated_and_kept(cell: Cell) -> int | None:
    """The line that keeps a loss the cell also backpropagates (`history.append(loss)` beside
    `loss.backward()` in the same function or loop)."""
    losses = {n.func.value.id for n in cell.nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and n.func.attr == "backward" and isinstance(n.func.value, ast.Name)}
    return _keeps(cell, losses)


def _keeps(cell: Cell, names: set[str]) -> int | None:
    """The first line that keeps one of `names` as it is: `xs.append(name)` (also inside a
    dict or tuple put in: `outputs.append({"loss": loss})`), `total += name`."""
    def bare(node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in names
        if isinstance(node, (ast.Dict, ast.Tuple, ast.List)):
            items = node.values if isinstance(node, ast.Dict) else node.elts
            return any(bare(v) for v in items)
        return False

    for node in cell.nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("append", "extend", "insert") and any(bare(a) for a in node.args):
            return node.lineno
        if isinstance(node, ast.AugAssign) and isinstance(node.value, ast.Name) and node.value.id in names:
            return node.lineno
    # handed as it is to a method of the user's own object (a metrics collector, a logger)
    for node in cell.nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and any(bare(a) for a in list(node.args) + [k.value for k in node.keywords]) \
                and _users_object(cell.resolve(node.func.value, cell.scope_of(node))):
            return node.lineno
    return None


def _users_object(value: Any) -> bool:
    """Whether `value` is an instance of a class the user's code defines (not torch's, not a
    builtin, not a module)."""
    cls = type(value)
    return value is not MISSING and not isinstance(value, type) and not is_module(value) \
        and not cls.__module__.startswith(("torch", "builtins", "numpy", "collections", "logging", "tqdm"))


def _kept_at(cell: Cell, line: int) -> int | None:
    """The line that keeps what the statement on `line` assigns: `xs.append(name)`, `total += name`."""
    stmt = cell.statement_at_line(line)
    names = set()
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return _keeps(cell, names)


@monitor
def run_non_finite(cell: Cell, found: Any) -> Iterator[Hit]:
    """The first operation of the run that made NaN or inf out of finite values (or the data that
    already held them), when the cell ran to the end with them."""
    first = nonfinite_origin(found.first_nonfinite)
    if first is None:
        return
    line = run_line(found, first.site, first.cell_line)
    if line is None:
        site = object_site_of(cell, first)
        line = site
    if line is not None:
        what = "the data it started from" if first.op is None else f"{first.op}"
        yield Hit("non-finite-values", line, first.op or "the data", what)


def object_site_of(cell: Cell, record: Any) -> int | None:
    """The cell's line that assigns the name holding a record's tensor (data the run did not
    see made)."""
    tensor = record.tensor
    if tensor is None:
        return None
    for name in names_of(cell, tensor):
        lines = [b.line for b in cell.bindings[cell.tree].get(name, []) if b.kind == "assign"]
        if lines:
            return lines[-1]
    return None
