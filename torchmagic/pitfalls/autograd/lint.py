"""The autograd family's lint rules and audit checks: gradients that add up without zero_grad, loss
history kept across iterations, a misspelt requires_grad, a loss target that requires grad."""
from __future__ import annotations

import ast
import difflib
from typing import Any, Iterator

from ...source.cell import Cell
from ...source.syntax import arg_at, names_in, root_name, walk_body
from ...source.values import MISSING, is_module, is_ndarray, is_tensor, torch_module
from ..helpers import _short
from ..registry import Hit, audit, rule


_TARGET_LOSSES = {
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "hinge_embedding_loss",
    "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss", "SoftMarginLoss",
    "MultiLabelSoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "HingeEmbeddingLoss",
}


def _backward_subject(cell: Cell, call: ast.Call) -> str:
    """What is backpropagated: `loss` for `loss.backward()`, the first argument otherwise."""
    if isinstance(call.func, ast.Attribute) and call.func.attr == "backward":
        return _short(cell, call.func.value)
    return _short(cell, call.args[0]) if call.args else "loss"


@rule
def rule_grad_accumulation(cell: Cell) -> Iterator[Hit]:
    """backward() and an optimizer step in a loop that never zeroes the gradients."""
    for call in cell.calls:
        if not cell.is_backward(call):
            continue
        loops = cell.loops_of(call)
        for loop in loops:
            nodes = cell.body_nodes(loop)
            steps = [n for n in nodes if (isinstance(n, ast.Call) and cell.is_step(n)) or cell.is_manual_update(n)]
            if not steps:
                continue
            # the step this backward feeds: the next one in the loop (GANs step two optimizers)
            step = min((s for s in steps if s.lineno > call.lineno), key=lambda s: s.lineno, default=steps[0])
            if not _zeroed(cell, step, nodes):
                # a zero_grad() once before the loop belongs inside it: that is the line to move
                before = [n for n in cell.calls if n.lineno < loop.lineno and cell.scope_of(n) is cell.scope_of(loop)
                          and not cell.loops_of(n) and cell.is_zeroing(n) and _zeroed(cell, step, [n])]
                line = before[-1].lineno if before else call.lineno
                yield Hit("grad-accumulation", line, _backward_subject(cell, call), _short(cell, step))
            break
        else:
            # backward and step in a cell function without a loop: its callers' loops must zero
            fn = cell.top_function(call)
            if fn is None or loops:
                continue
            nodes = cell.body_nodes(fn)
            steps = [n for n in nodes if (isinstance(n, ast.Call) and cell.is_step(n)) or cell.is_manual_update(n)]
            if not steps or any(cell.is_zeroing(n) for n in nodes):
                continue
            sites = cell.call_sites(fn)
            looped = [s for s in sites if cell.loops_of(s)]
            if looped and all(not any(cell.is_zeroing(n) for n in cell.body_nodes(cell.loops_of(s)[0]))
                              for s in looped):
                yield Hit("grad-accumulation", call.lineno, _backward_subject(cell, call), _short(cell, steps[0]))


def _zeroed(cell: Cell, step: ast.AST, nodes: list[ast.AST]) -> bool:
    """Whether the loop body `nodes` zeroes the gradients that `step` uses. Only an optimizer's
    `zero_grad()` on another optimizer (or on a module it does not train) is known not to."""
    zeroings = [n for n in nodes if cell.is_zeroing(n)]
    if not zeroings:
        return False
    if not (isinstance(step, ast.Call) and isinstance(step.func, ast.Attribute)):
        return True  # a hand-written update: any zeroing is taken to be its own
    scope = cell.scope_of(step)
    optimizer = cell.resolve(step.func.value, scope)
    torch = torch_module()
    for z in zeroings:
        if not (isinstance(z, ast.Call) and isinstance(z.func, ast.Attribute) and z.func.attr == "zero_grad"):
            return True
        if cell.text(z.func.value) == cell.text(step.func.value):
            return True
        other = cell.resolve(z.func.value, cell.scope_of(z))
        if other is MISSING or optimizer is MISSING or other is optimizer:
            return True
        if isinstance(other, torch.optim.Optimizer) and isinstance(optimizer, torch.optim.Optimizer):
            continue  # another optimizer's zero_grad()
        if is_module(other) and isinstance(optimizer, torch.optim.Optimizer):
            mine = {id(p) for group in optimizer.param_groups for p in group["params"]}
            if any(id(p) in mine for p in other.parameters()):
                return True
            continue
        return True
    return False


def _accumulations(cell: Cell) -> list[tuple[ast.stmt, ast.AST, ast.AST]]:
    """(statement, accumulator target, added value) for `t += v` and `t = t + v`, in line order."""
    return sorted(_find_accumulations(cell), key=lambda a: a[0].lineno)


def _find_accumulations(cell: Cell) -> Iterator[tuple[ast.stmt, ast.AST, ast.AST]]:
    for node in cell.nodes:
        if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
            yield node, node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.BinOp) \
                and isinstance(node.value.op, ast.Add):
            t = cell.text(node.targets[0])
            left, right = node.value.left, node.value.right
            if cell.text(left) == t:
                yield node, node.targets[0], right
            elif cell.text(right) == t:
                yield node, node.targets[0], left
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) and node.value.func.attr in ("append", "insert") \
                and node.value.args:
            yield node, node.value.func.value, node.value.args[-1]


def _derived_names(cell: Cell, name: str, scope: ast.AST) -> set[str]:
    """`name` and every name assigned from an expression that reads it (in the scope)."""
    found = {name}
    assigns = [n for n in cell.body_nodes(scope, inline=False)
               if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))]
    changed = True
    while changed:
        changed = False
        for a in assigns:
            value = a.value
            if value is None or not (names_in(value) & found):
                continue
            targets = a.targets if isinstance(a, ast.Assign) else [a.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name) and n.id not in found:
                        found.add(n.id)
                        changed = True
    return found


def _live_target(cell: Cell, target: ast.AST, scope: ast.AST) -> Any:
    """The live value of an accumulator (`x`, `d["k"]`, `obj.attr`), or MISSING."""
    if isinstance(target, (ast.Name, ast.Attribute)):
        return cell.resolve(target, scope)
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        base = cell.resolve(target.value, scope)
        if isinstance(base, dict):
            return base.get(target.slice.value, MISSING)
    return MISSING


@rule
def rule_history_accumulation(cell: Cell) -> Iterator[Hit]:
    """A tensor with grad history added up across loop iterations (`total += loss`)."""
    flagged: set[str] = set()
    for stmt, target, value in cell.once(_accumulations):
        if names_in(value) & flagged:
            continue  # a consequence of an accumulation already reported
        loops = cell.loops_of(stmt)
        if not loops or isinstance(value, (ast.List, ast.Tuple, ast.ListComp)):
            continue
        loop = loops[0]
        root = root_name(target)
        if root is None:
            continue
        scope = cell.scope_of(stmt)
        t_text = cell.text(target)
        reset = False
        for n in walk_body(loop.body):
            if isinstance(n, (ast.Assign, ast.AnnAssign)) and n is not stmt:
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                if any(cell.text(t) in (t_text, root) for t in targets):
                    reset = True
            if isinstance(n, (ast.For, ast.AsyncFor)) and root in names_in(n.target):
                reset = True
        if reset:
            continue
        if any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in names_in(l.target)
               for l in loops if isinstance(l, (ast.For, ast.AsyncFor)) for c in ast.walk(value)):
            continue  # `for layer in layers: x = x + layer(x)`: one forward through a stack of layers
        appended = isinstance(stmt, ast.Expr)
        if appended and not any(cell.trains(cell.body_nodes(l)) for l in loops):
            continue  # outputs kept by an evaluation loop: eval-without-no-grad tells the cause
        live = _live_target(cell, target, scope) if cell.def_scope(root, scope) is cell.tree else MISSING
        if appended and isinstance(live, list):
            tensors = [v for v in live if is_tensor(v)]
            if len(tensors) < len(live) or not any(v.requires_grad for v in tensors):
                continue
            live = MISSING
        if live is not MISSING and not is_tensor(live):
            if isinstance(live, (int, float, complex)) or is_ndarray(live) or live is None:
                continue
        if is_tensor(live):
            if not live.requires_grad:
                continue
        elif not cell.carries_grad(value, scope):
            continue
        derived = _derived_names(cell, root, scope)
        if any(names_in(call) & derived for call in cell.grad_calls()):
            continue  # accumulated on purpose, to backpropagate the sum
        if any(isinstance(n, (ast.Return, ast.Yield)) and n.value is not None and names_in(n.value) & derived
               for n in cell.body_nodes(scope, inline=False) if scope is not cell.tree):
            continue  # returned to a caller that may backpropagate it
        flagged.add(root)
        yield Hit("history-accumulation", stmt.lineno, t_text, cell.text(value))


def _grad_flag_writes(cell: Cell) -> list[tuple[ast.AST, ast.AST, str, int]]:
    """(statement, receiver, attribute, line) for writes of `requires_grad` or a name close to it."""
    out = []
    for node in cell.nodes:
        targets: list[tuple[ast.AST, str, int]] = []
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                        targets.append((sub.value, sub.attr, node.lineno))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            targets.append((node.args[0], node.args[1].value, node.lineno))
        for recv, attr, line in targets:
            if attr == "requires_grad" or difflib.SequenceMatcher(None, attr.lower(), "requires_grad").ratio() >= 0.85:
                out.append((node, recv, attr, line))
    return out


@rule
def rule_requires_grad_typo(cell: Cell) -> Iterator[Hit]:
    """`p.require_grad = False`: a misspelt attribute that freezes nothing."""
    for node, recv, attr, line in cell.once(_grad_flag_writes):
        scope = cell.scope_of(node)
        value = cell.resolve(recv, scope)
        if attr == "requires_grad":
            if value is not MISSING and is_module(value):
                yield Hit("requires-grad-typo", line, f"{cell.text(recv)}.requires_grad", "module")
            continue
        if value is not MISSING and not (is_tensor(value) or is_module(value)):
            continue
        if value is MISSING and isinstance(recv, ast.Name):
            if recv.id == "self":
                continue
            b = cell.binding(recv.id, scope, line)
            if b is not None and b.kind == "assign" and b.index is None:
                cls = cell.ctor_class(b.value, cell.scope_of(b.node))
                if cls is not None and not cell.is_module_class(cls) and not (
                        isinstance(cls, type) and cls.__module__.startswith("torch")):
                    continue  # an object of some other class: its attribute may be real
        yield Hit("requires-grad-typo", line, f"{cell.text(recv)}.{attr}", "requires_grad")


def _near_requires_grad(attr: str) -> bool:
    return attr != "requires_grad" and difflib.SequenceMatcher(None, attr.lower(), "requires_grad").ratio() >= 0.85


def _code_names(code: Any, depth: int = 0) -> set[str]:
    """The attribute and global names a code object and the code nested in it use."""
    names = set(code.co_names)
    if depth < 4:
        for const in code.co_consts:
            if hasattr(const, "co_names"):
                names |= _code_names(const, depth + 1)
    return names


@audit
def audit_requires_grad_typo(cell: Cell) -> Iterator[Hit]:
    """Parameters of the cell's models that carry a misspelt `requires_grad` attribute (or a
    module that got a `requires_grad` attribute of its own), set by a helper of an earlier
    cell: the line is the cell's call of that helper."""
    torch = torch_module()
    ns = cell.ns or {}
    models = [v for v in list(ns.values()) if is_module(v)]
    found = cell.evidence
    models += [f.layer for f in (found.forwards if found is not None else []) if f.layer is not None]
    attrs: set[str] = set()
    seen: set[int] = set()
    for model in models:
        if id(model) in seen:
            continue
        seen.add(id(model))
        for sub in model.modules():
            if isinstance(vars(sub).get("requires_grad"), bool):
                attrs.add("requires_grad")
        for p in model.parameters(recurse=True):
            attrs |= {a for a in vars(p) if _near_requires_grad(a)}
    if not attrs:
        return
    for call in cell.calls:
        if not isinstance(call.func, ast.Name) or cell.cell_function(call) is not None:
            continue  # the cell's own functions are read by the rule above
        helper = ns.get(call.func.id)
        if isinstance(helper, type):  # a class of an earlier cell: the code of its methods
            codes = [f.__code__ for f in vars(helper).values() if hasattr(f, "__code__")]
        elif isinstance(helper, torch.nn.Module) or getattr(helper, "__code__", None) is None:
            continue
        else:
            codes = [helper.__code__]
        typo = attrs & set().union(*(_code_names(c) for c in codes)) if codes else set()
        if typo:
            attr = sorted(typo)[0]
            yield Hit("requires-grad-typo", call.lineno, f".{attr}",
                      "module" if attr == "requires_grad" else "requires_grad")
            return


_LOSS_OPS = {"cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"}


def _run_saw_plain_targets(cell: Cell, call: ast.Call) -> bool:
    """Whether the run disproves the reading: the losses it saw computed on the call's line (still
    alive at the end) all had a target that required no grad."""
    found = cell.evidence
    recorder = getattr(found, "recorder", None)
    if recorder is None:
        return False
    losses = [r for r in list(recorder.table.values())
              if r.site is not None and (r.site.filename, r.site.line) == (found.user.cell, call.lineno)
              and r.op is not None and ("loss" in r.op or r.op in _LOSS_OPS)]
    return bool(losses) and all(len(r.inputs) >= 2 and not r.inputs[1].requires_grad for r in losses)


@rule
def rule_target_requires_grad(cell: Cell) -> Iterator[Hit]:
    """A loss whose target carries grad history from a module the prediction does not use."""
    for call in cell.calls:
        scope = cell.scope_of(call)
        name = cell.loss_name(call, scope)
        if name not in _TARGET_LOSSES:
            continue
        target = arg_at(call, 1, "target")
        pred = arg_at(call, 0, "input")
        if target is None or pred is None:
            continue
        t_src = cell.grad_sources(target, scope)
        if not t_src or _run_saw_plain_targets(cell, call):
            continue
        p_src = cell.grad_sources(pred, scope) or frozenset()
        if name in ("kl_div", "KLDivLoss") and not t_src - p_src:
            continue  # two passes of one model matched to each other (R-Drop, consistency): on purpose
        line = call.lineno
        if isinstance(target, ast.Name):
            b = cell.binding(target.id, scope, call.lineno)
            if b is not None and b.kind in ("assign", "aug") and b.line <= call.lineno:
                line = b.line
        yield Hit("target-requires-grad", line, cell.text(target), name)
