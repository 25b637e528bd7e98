"""Runtime audit after a cell ran: silent pitfalls visible only in the live objects.

`audit_namespace` looks at the modules and optimizers the cell names, as they are after the
run: layers kept in plain lists or dicts (their parameters are not registered), optimizers
that do not hold parameters of the model they train, frozen BatchNorm layers whose running
statistics still change. Objects are only read, never modified or called. Findings point
at cell lines where the code shows the cause, else at the line that names the object.
"""
from __future__ import annotations

import ast
from typing import Any, Iterator, Mapping

from .diagnosis import Finding
from .lint import MISSING, Cell, Hit, Rule, dotted, findings_from_hits, is_module, parse_cell, run_rules


def audit_namespace(namespace: Mapping[str, Any], source: str, lang: str = "en") -> list[Finding]:
    """Runtime audit after the cell finished (modules, optimizers, BatchNorm state).

    Lines point into the cell source where possible; findings are de-duplicated, sorted by
    line and honour `# torchmagic: ignore[id]` comments like the lint's.
    """
    if namespace is None:
        return []
    cell = parse_cell(source, namespace)
    if cell is None:
        return []
    return audit_parsed(cell, lang)


def audit_parsed(cell: Cell, lang: str = "en") -> list[Finding]:
    """:func:`audit_namespace` on a cell already parsed with the namespace (`lint.parse_cell`)."""
    return findings_from_hits(run_rules(AUDIT_RULES, cell), cell.source, lang, "audit")


def _module_level_names(cell: Cell) -> list[str]:
    """Names the cell reads or writes at module level (its globals), in order of appearance."""
    out: dict[str, None] = {}
    for node in cell.nodes:
        if isinstance(node, ast.Name) and node.id not in out \
                and cell.def_scope(node.id, cell.scope_of(node)) is cell.tree:
            out[node.id] = None
    return list(out)


def _named_objects(cell: Cell) -> dict[str, Any]:
    """Module-level names the cell mentions, with their live values."""
    out: dict[str, Any] = {}
    for name in cell.once(_module_level_names):
        value = cell.lookup(name, cell.tree)
        if value is not MISSING:
            out[name] = value
    return out


def _first_line(cell: Cell, name: str) -> int:
    """The first line where the cell assigns `name`, else the first line that mentions it."""
    assigned = [b.line for b in cell.bindings[cell.tree].get(name, []) if b.kind == "assign"]
    if assigned:
        return assigned[0]
    lines = [n.lineno for n in cell.nodes if isinstance(n, ast.Name) and n.id == name]
    return min(lines) if lines else 0


def _container_line(cell: Cell, cls_name: str, attr: str) -> int:
    """The line `self.<attr> = ...` in the cell's class `cls_name`, or 0."""
    cls = cell.cell_class(cls_name)
    if cls is None:
        return 0
    for node in ast.walk(cls):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(dotted(t) == f"self.{attr}" for t in targets):
                return node.lineno
    return 0


def audit_unregistered_submodule(cell: Cell) -> Iterator[Hit]:
    """Modules or Parameters kept in a plain list/tuple/dict attribute of a live nn.Module."""
    import torch

    named = _named_objects(cell)
    top_level = list(named.values())
    seen: set[int] = set()
    for name, root in named.items():
        if not is_module(root) or id(root) in seen:
            continue
        seen.add(id(root))
        registered = {id(m) for m in root.modules()} | {id(p) for p in root.parameters()}
        for sub in root.modules():
            for attr, value in vars(sub).items():
                if attr.startswith("_") or not isinstance(value, (list, tuple, dict)):
                    continue
                items = list(value.values()) if isinstance(value, dict) else list(value)
                held = [v for v in items if isinstance(v, (torch.nn.Module, torch.nn.Parameter))]
                loose = [v for v in held if id(v) not in registered]
                if not loose:
                    continue
                if all(any(v is t for t in top_level) for v in loose):
                    continue  # references to models the user keeps anyway, wrapped on purpose
                params = isinstance(loose[0], torch.nn.Parameter)
                kind = "Dict" if isinstance(value, dict) else "List"
                other = ("Parameter" if params else "Module") + kind
                in_class = _container_line(cell, type(sub).__name__, attr)
                if in_class:
                    line, label = in_class, f"self.{attr}"
                else:
                    line = _first_line(cell, name)
                    label = f"{name}.{attr}" if sub is root else f"{type(sub).__name__}.{attr}"
                yield Hit("unregistered-submodule", line, label, other)


def _optimizer_sources(cell: Cell) -> list[tuple[str, ast.Call, ast.AST]]:
    """(optimizer name, constructor call, model expression) for `opt = X(model.parameters())`."""
    found = []
    for node in cell.nodes:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and node.value.args):
            continue
        if cell.scope_of(node) is not cell.tree:
            continue
        params = node.value.args[0]
        if isinstance(params, ast.Call) and isinstance(params.func, ast.Name) and params.func.id == "filter" \
                and len(params.args) == 2:
            params = params.args[1]
        if isinstance(params, ast.Call) and isinstance(params.func, ast.Attribute) \
                and params.func.attr == "parameters" and not params.args:
            found.append((node.targets[0].id, node.value, params.func.value))
    return found


def audit_optimizer_params(cell: Cell) -> Iterator[Hit]:
    """An optimizer built from `model.parameters()` that misses parameters the model has now."""
    import torch

    steps = [c for c in cell.calls if isinstance(c.func, ast.Attribute) and c.func.attr == "step"]
    for opt_name, ctor, model_expr in cell.once(_optimizer_sources):
        opt = cell.lookup(opt_name, cell.tree)
        model = cell.resolve(model_expr, cell.tree)
        if not isinstance(opt, torch.optim.Optimizer) or not is_module(model):
            continue
        if not any(dotted(c.func.value) == opt_name for c in steps):
            continue  # the cell does not train with it
        held = {id(p) for group in opt.param_groups for p in group["params"]}
        missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in held]
        if not missing:
            continue
        model_text = dotted(model_expr) or ""
        line = ctor.lineno
        for node in cell.nodes:
            if isinstance(node, ast.Assign) and node.lineno > ctor.lineno:
                for t in node.targets:
                    if isinstance(t, (ast.Attribute, ast.Subscript)) and \
                            (cell.text(t).startswith(model_text + ".") or cell.text(t).startswith(model_text + "[")):
                        line = node.lineno
                        break
                if line != ctor.lineno:
                    break
        shown = ", ".join(f"`{m}`" for m in missing[:3]) + (" ..." if len(missing) > 3 else "")
        yield Hit("optimizer-device", line, opt_name, shown)


def _freeze_lines(cell: Cell) -> list[int]:
    """Lines that set `requires_grad` to False (`p.requires_grad = False`, `requires_grad_(False)`)."""
    freeze_lines = []
    for node in cell.nodes:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is False \
                and any(isinstance(t, ast.Attribute) and t.attr == "requires_grad" for t in node.targets):
            freeze_lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "requires_grad_" \
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is False:
            freeze_lines.append(node.lineno)
    return freeze_lines


def audit_bn_running_stats(cell: Cell) -> Iterator[Hit]:
    """BatchNorm layers frozen with requires_grad=False but still updating running stats in training."""
    import torch

    freeze_lines = cell.once(_freeze_lines)
    if not freeze_lines:
        return
    backward = any(cell.is_backward(c) for c in cell.calls)
    named = _named_objects(cell)
    for name, root in named.items():
        if not is_module(root):
            continue
        frozen = [m for m in root.modules()
                  if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats
                  and m.running_mean is not None and m.weight is not None and not m.weight.requires_grad]
        if not frozen:
            continue
        try:
            trained = any(p.requires_grad for p in root.parameters())
        except Exception:
            trained = False
        if not trained:
            continue
        # it must train here: a training loop of the cell, or a training helper of an earlier
        # cell handed the model in a loop (`train_one_epoch(model, ...)`)
        helper = any(cell.loops_of(c) and isinstance(c.func, ast.Name) and cell.cell_function(c) is None
                     and any(isinstance(a, ast.Name) and a.id == name for a in c.args) for c in cell.calls)
        if not (backward or helper):
            continue
        line = min(freeze_lines)  # where the user believed the layers frozen
        yield Hit("bn-running-stats", line, name, f"{len(frozen)} frozen BatchNorm layer(s)")
        return


AUDIT_RULES: list[Rule] = [
    audit_unregistered_submodule,
    audit_optimizer_params,
    audit_bn_running_stats,
]
