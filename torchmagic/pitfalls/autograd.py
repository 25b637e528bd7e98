"""Autograd pitfalls: in-place changes of saved tensors, freed graphs, lost history, NaN in
backward, gradients that add up, graphs kept alive, misspelt requires_grad, targets with history."""
from __future__ import annotations

import ast
import difflib
import re
from typing import Any, Iterator

from ..diagnosis import Match
from ..source.cell import Cell, MISSING, _torch, arg_at, is_module, is_ndarray, is_tensor, names_in, root_name, walk_body
from ..source.cellcode import CellCode, base_name, call_name, dotted, loaded_names
from ..evidence import Site
from ..evidence.provenance import Change
from ..evidence.queries import ancestors, earlier_graph, freed_by, history_cut, made_without_history, nonfinite_origin, passed_on, site_step
from ..diagnose.locate import code_of
from .helpers import _short, earlier_binding, failing_place, line_text, module_site, name_for, names_of, origin_match, pattern_hits, place, run_line
from .registry import Context, Hit, audit, matcher, monitor, rule


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
    torch = _torch()
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
    torch = _torch()
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
        code = getattr(helper, "__code__", None)
        if code is None or isinstance(helper, type) or isinstance(helper, torch.nn.Module):
            continue
        typo = attrs & _code_names(code)
        if typo:
            attr = sorted(typo)[0]
            yield Hit("requires-grad-typo", call.lineno, f".{attr}",
                      "module" if attr == "requires_grad" else "requires_grad")
            return


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
        if not t_src:
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


@matcher
def inplace_autograd(ctx: Context) -> Match | None:
    """The in-place op that clobbered a tensor saved for backward (not the backward() line)."""
    if not pattern_hits(ctx, "inplace-autograd"):
        return None
    facts: dict[str, Any] = {}
    m = re.search(r"\[(?:torch\.)?(\w+) \[([\d, ]*)\]\], which is output (\d+) of (\w+), is at version (\d+); "
                  r"expected version (\d+)", ctx.message)
    if m:
        facts.update(shape=f"({m.group(2)})", op=m.group(4), version=m.group(5), expected=m.group(6))
    recorded = _inplace_from_evidence(ctx, m, facts)
    if recorded is not None:
        return recorded
    ops = ctx.code.inplace_ops()
    forward_line = ctx.forward.line if ctx.forward else None
    if forward_line is not None:
        names = set(ctx.code.assigned_at(forward_line)) | set(ctx.code.read_at(forward_line))
        later = [op for op in ops if op.line > forward_line and op.name in names
                 and ctx.code.same_scope(op.line, forward_line)]
        if later:
            op = later[0]
            facts.update(name=op.name, forward_line=forward_line, line=op.line)
            return Match("inplace-autograd", 0.95, line=op.line, related_lines=[forward_line],
                         facts=facts, detail="modified")
    # No forward trace (anomaly off): an in-place op on a tensor-valued name is the suspect.
    tensorish = [op for op in ops if op.how != "augassign" or _assigned_from_call(ctx.code, op)]
    if tensorish:
        op = tensorish[0]
        related = [forward_line] if forward_line else []
        return Match("inplace-autograd", 0.9, line=op.line, related_lines=related, facts=facts,
                     detail="saved" if m else "")
    return Match("inplace-autograd", 0.8, line=forward_line, facts=facts, detail="saved" if m else "")


def _inplace_from_evidence(ctx: Context, m: Any, facts: dict) -> Match | None:
    """From the run's record: the tensor the message describes (output of that backward
    function, that shape) and the in-place write that moved it past the version backward saved."""
    recorder = ctx.evidence.recorder
    if recorder is None or m is None:
        return None
    shape = tuple(int(d) for d in m.group(2).replace(" ", "").split(",") if d)
    op, expected = m.group(4), int(m.group(6))
    found = [r for r in recorder.changed if tuple(r.shape) == shape and r.changes
             and (_same_op(op, r.grad_fn) or any(_same_op(op, c.op) for c in r.changes))]
    if not found:
        return _stepped_parameter(ctx, shape, facts)
    record = found[-1]
    change = record.changes[expected] if len(record.changes) > expected else record.changes[-1]
    layer = change.module() if change.module is not None else None
    built = module_site(ctx.evidence, layer) if layer is not None else None
    # a layer built with inplace=True wrote it: the line to change is where that layer is built
    where = place(ctx, [record, site_step(built)]) if built is not None else place(ctx, [record, change])
    if where is None:
        return None
    made = place(ctx, [record])
    related = [made[0]] if made is not None and made[0] not in (None, where[0]) else []
    facts.update(name=name_for(ctx, record) or "the tensor", line=line_text(ctx, where),
                 forward_line=line_text(ctx, made) if made is not None else "?")
    return Match("inplace-autograd", 0.95, line=where[0], related_lines=related, facts=facts,
                 detail="modified", cause=where[1])


def _same_op(named: str, op: str | None) -> bool:
    """Whether an operation named by autograd (`LeakyRelu1`, `LeakyReluBackward1`) is `op` as the
    record has it (`leaky_relu`, `LeakyReluBackward0`)."""
    def plain(text: str) -> str:
        return re.sub(r"backward|\d+|_", "", text.lower())
    return bool(op) and plain(named) == plain(op)


def _stepped_parameter(ctx: Context, shape: tuple, facts: dict) -> Match | None:
    """An optimizer step changed a parameter in place (the message's tensor, or its transpose)
    between a forward pass and that pass's backward: the step comes too early."""
    recorder = ctx.evidence.recorder
    calls = recorder.backwards
    if not calls:
        return None
    failing = calls[-1]
    for optimizer_ref, site, generation in reversed(recorder.steps):
        optimizer = optimizer_ref()
        if optimizer is None or site is None:
            continue
        params = [p for g in optimizer.param_groups for p in g["params"]]
        if any(tuple(p.shape) in (shape, shape[::-1]) for p in params):
            subject = failing.subject
            made = subject.generation if subject is not None else generation
            if generation >= made:  # stepped after the graph of the failing backward was built
                where = place(ctx, [site_step(site)])
                if where is not None:
                    facts.update(line=line_text(ctx, where))
                    return Match("inplace-autograd", 0.95, line=where[0], facts=facts, detail="stepped",
                                 cause=where[1])
    return None


def _assigned_from_call(code: CellCode, op) -> bool:
    binding = code.origin(op.name, op.line)
    return binding is not None and isinstance(getattr(binding.node, "value", None), (ast.Call, ast.BinOp))


@matcher
def nan_in_backward(ctx: Context) -> Match | None:
    """NaN from a backward function: the forward op anomaly mode recorded."""
    m = re.search(r"Function '(\w+)' returned nan values in its (\d+)\w* output", ctx.message)
    if not m:
        return None
    function = m.group(1)
    op = re.sub(r"Backward\d*$", "", function).lower()
    facts: dict[str, Any] = {"function": function, "op": op}
    first = nonfinite_origin(ctx.evidence.first_nonfinite)
    where = place(ctx, [first]) if first is not None else None
    if where is not None:  # the forward pass already made NaN or inf: that operation is the root
        facts.update(op=first.op or op, line=line_text(ctx, where))
        return Match("nan-in-backward", 0.95, line=where[0], facts=facts, detail="forward", cause=where[1])
    sites = ctx.forward.sites if ctx.forward else []
    if sites and sites[-1][0] != ctx.filename:
        site = Site(sites[-1][0], sites[-1][1], "")
        where = place(ctx, [site_step(site)])
        if where is not None:
            facts["line"] = line_text(ctx, where)
            return Match("nan-in-backward", 0.95, line=where[0], facts=facts, detail="origin", cause=where[1])
    line = ctx.forward.line if ctx.forward else None
    if line is not None:
        facts["line"] = line
    return Match("nan-in-backward", 0.95, line=line, facts=facts, detail="origin")


@matcher
def backward_twice(ctx: Context) -> Match | None:
    """Backward through a freed graph: a tensor of an earlier graph that this pass still uses.
    Freed by another backward call (two losses sharing it: a GAN's fakes), the line is where the
    other loss used it without `.detach()`; carried from an earlier pass of the loop, where it
    is carried or kept (a hidden state, a module's state, features made before the loop)."""
    if not re.search(r"backward through the graph a second time|saved tensors after they have already been freed",
                     ctx.message):
        return None
    trail = _earlier_graph(ctx)
    if trail is not None and trail[0] == "shared":
        match = _backwarded_loss_in_sum(ctx) or _detached_in_one_use_only(ctx) \
            or _freed_by_other_backward(ctx, trail[1])
        if match is not None:
            return match
    detached = _detached_in_one_use_only(ctx) if trail is not None else None
    if detached is not None:
        return detached
    stmt = ctx.code.statement_at(ctx.line)
    loops = ctx.code.loops_around(stmt) if stmt is not None else []
    carried = _carried_in_text(ctx, stmt, loops[-1]) if loops else None
    if carried is not None:
        return carried
    if trail is not None:
        match = _backpropagated_again(ctx) or _made_in_earlier_pass(ctx, trail[1])
        if match is not None:
            return match
    return _shared_with_earlier_backward(ctx) or Match("backward-twice", 0.85 if loops else 0.9, line=ctx.line)


def _carried_in_text(ctx: Context, stmt: ast.AST, loop: ast.AST) -> Match | None:
    """What the cell's loop shows of a graph kept from one pass to the next: a value the loop
    reassigns from itself (an RNN's hidden state), one made before the loop, a module's state."""
    body_start, body_end = loop.lineno, loop.end_lineno or loop.lineno
    bindings = ctx.code.bindings(ctx.code.scope_of(stmt))
    inside = [b for b in bindings if body_start < b.line <= body_end or b.line == body_start]
    # 1. a value carried from one iteration to the next (e.g. an RNN hidden state)
    for b in inside:
        reads = ctx.code.read_at(b.line)
        if b.name in reads and _has_graph(ctx.value(b.name)):
            first_read = min((ln for ln in range(body_start, body_end + 1) if b.name in ctx.code.read_at(ln)),
                             default=b.line)
            if first_read <= b.line:
                return Match("backward-twice", 0.95, line=b.line, related_lines=[ctx.line],
                             facts={"name": b.name}, detail="carried")
    # 2. a graph built once before the loop and reused by every iteration
    bound_inside = {b.name for b in inside}
    read_inside = {n for ln in range(body_start, body_end + 1) for n in ctx.code.read_at(ln)}
    outside = [b for b in bindings if b.line < body_start and b.name in read_inside - bound_inside
               and _has_graph(ctx.value(b.name))]
    if outside:
        b = outside[-1]
        kept = ctx.value(b.name)
        # a list filled in a loop before this one: where the items go in
        line = (_filled_at(ctx, kept) if isinstance(kept, list) else None) or b.line
        return Match("backward-twice", 0.95, line=line, related_lines=[ctx.line],
                     facts={"name": b.name, "line": line}, detail="outside_loop")
    # 2b. a graph an earlier cell built (features encoded once, in a cell of their own)
    earlier = [n for n in sorted(read_inside - {b.name for b in bindings})
               if "." not in n and _has_graph(ctx.value(n))]
    if earlier:
        name = earlier[0]
        first = min(ln for ln in range(body_start + 1, body_end + 1) if name in ctx.code.read_at(ln))
        cause = earlier_binding(ctx, name)
        return Match("backward-twice", 0.95, line=first, related_lines=[ctx.line], cause=cause,
                     facts={"name": name, "line": line_text(ctx, (first, cause)) if cause else ""},
                     detail="earlier_cell" if cause else "earlier_cell_somewhere")
    # 3. state a module of the cell keeps between calls (`self.memory = h` in forward)
    for name in sorted(read_inside):
        kept = _state_kept_by_module(ctx, name)
        if kept is not None:
            return Match("backward-twice", 0.95, line=kept[1], related_lines=[ctx.line],
                         facts={"name": kept[0]}, detail="carried")
    return None


def _earlier_graph(ctx: Context) -> tuple[str, list] | None:
    """From the run's evidence: ("shared", trail) when another backward call freed the graph
    the failing pass still uses, ("carried", trail) when the same call did in an earlier pass;
    the trail ends with the tensor of that earlier graph."""
    recorder = ctx.evidence.recorder
    calls = recorder.backwards if recorder is not None else []
    if not calls or calls[-1].subject is None:
        return None
    freeing = [c for c in calls[:-1] if c.frees]
    trail = earlier_graph(calls[-1].subject, freeing[-1].generation if freeing else None)
    if trail is None:
        return None
    previous = [c for c in calls[:-1] if c.generation >= trail[-1].generation and c.frees]
    shared = bool(previous) and previous[-1].site != calls[-1].site
    return ("shared" if shared else "carried"), trail


def _backwarded_loss_in_sum(ctx: Context) -> Match | None:
    """A loss backpropagated on its own and then summed into the loss backpropagated again:
    the line to change is the first backward (one backward of the sum, or `retain_graph`)."""
    calls = ctx.evidence.recorder.backwards
    last = calls[-1]
    for call in reversed(calls[:-1]):
        if (not call.frees or call.subject is None or call.subject is last.subject or call.site is None
                or call.site == last.site):
            continue
        if not any(r is call.subject for r in ancestors(last.subject, lambda p: bool(p.grad_fn))):
            continue
        where = place(ctx, [site_step(call.site)])
        if where is None or where[0] is None:
            return None
        facts = {"name": name_for(ctx, call.subject) or "the loss", "line": where[0]}
        return Match("backward-twice", 0.96, line=where[0], related_lines=[ctx.line] if ctx.line else [],
                     facts=facts, detail="summed_again", cause=where[1])
    return None


def _detached_in_one_use_only(ctx: Context) -> Match | None:
    """A tensor with a graph that the cell detaches where one loss uses it (`D(fake.detach())`)
    and hands on as it is where another does (a gradient penalty's helper): that other use is
    the line."""
    tree = ctx.code.tree
    if tree is None:
        return None
    detached, bare = [], []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
            continue
        up = ctx.code.parent(node)
        if isinstance(up, ast.Attribute) and up.attr == "detach":
            detached.append(node)
        elif isinstance(up, ast.Call) and node in up.args:  # handed to a function as it is
            bare.append(node)
    same = [b for b in bare if any(d.id == b.id for d in detached) and _has_graph(ctx.value(b.id))]
    if not detached or not same:
        return None
    line = min(b.lineno for b in same)
    name = same[0].id
    return Match("backward-twice", 0.96, line=line, related_lines=[ctx.line] if ctx.line else [],
                 facts={"name": name, "line": min(d.lineno for d in detached if d.id == name)},
                 detail="detached_once")


def _freed_by_other_backward(ctx: Context, trail: list) -> Match | None:
    calls = ctx.evidence.recorder.backwards
    old = trail[-1]
    consumer = freed_by(old, calls)
    step = consumer if consumer is not None and consumer.site is not None else old
    where = place(ctx, trail[:-1] + [step])
    if where is None:
        return None
    other = [c for c in calls[:-1] if c.generation >= old.generation and c.frees][-1]
    line = other.site.line if other.site is not None and other.site.filename == ctx.filename else where[0]
    facts = {"name": name_for(ctx, old) or "the shared tensor", "line": line}
    return Match("backward-twice", 0.95, line=where[0], related_lines=[ctx.line] if ctx.line else [],
                 facts=facts, detail="shared", cause=where[1])


def _backpropagated_again(ctx: Context) -> Match | None:
    """The same stored outputs backpropagated a second time: since the previous backward, no
    operation of the failing loss used a parameter (no forward pass ran again; the loss was
    rebuilt from outputs kept before, like an episode's log-probabilities). The line is the
    one that runs the second backward (a helper called again, a loop around it)."""
    calls = ctx.evidence.recorder.backwards
    last = calls[-1]
    previous = [c for c in calls[:-1] if c.frees]
    if not previous or ctx.line is None:
        return None
    fresh = [r for r in ancestors(last.subject, lambda p: bool(p.grad_fn) or p.parameter, limit=5_000)
             if r.made and r.generation > previous[-1].generation]
    if any(any(p.parameter for p in r.inputs) for r in fresh):
        return None
    before = previous[-1].site
    line = before.line if before is not None and before.filename == ctx.filename else ctx.line
    return Match("backward-twice", 0.95, line=ctx.line, related_lines=[line] if line != ctx.line else [],
                 facts={"line": line}, detail="again")


def _made_in_earlier_pass(ctx: Context, trail: list) -> Match | None:
    old = trail[-1]
    # the whole trail: for a tensor an earlier cell made, the cell's line that reads it
    where = place(ctx, trail)
    if where is None:
        return None
    carried = trail[-2].site is not None and old.site is not None and trail[-2].site.line == old.site.line
    facts = {"name": name_for(ctx, old) or "the tensor", "line": where[0]}
    return Match("backward-twice", 0.95, line=where[0], related_lines=[ctx.line] if ctx.line else [],
                 facts=facts, detail="carried" if carried else "outside_loop", cause=where[1])


def _state_kept_by_module(ctx: Context, name: str) -> tuple[str, int] | None:
    """`self.<attr>` and its line, when a method of the cell class of module `name` (other than
    __init__) stores on the module a tensor that still holds a graph, and a method reads it back
    (a value only kept for logging does not link one call's graph to the next)."""
    module = ctx.value(name)
    if not is_module(module):
        return None
    for cls in ctx.code.classes():
        if cls.name != type(module).__name__:
            continue
        methods = [m for m in cls.body if isinstance(m, ast.FunctionDef) and m.name != "__init__"]
        read = {dotted(n) for m in methods for n in ast.walk(m)
                if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load)}
        for method in methods:
            for node in ast.walk(method):
                if not isinstance(node, ast.Assign):
                    continue
                for target in node.targets:
                    attr = dotted(target)
                    if attr and attr.startswith("self.") and attr.count(".") == 1 and attr in read \
                            and _has_graph(vars(module).get(attr[len("self."):])):
                        return attr, node.lineno
    return None


def _shared_with_earlier_backward(ctx: Context) -> Match | None:
    """An earlier backward() in the same pass freed a graph this one needs (e.g. a GAN's fakes
    used by the discriminator loss without `.detach()`): point at that earlier loss."""
    code, line = ctx.code, ctx.line
    calls = dict(code.backward_calls())
    receiver = calls.get(line)
    if receiver is None:
        return None
    feeding = _graph_inputs(ctx, receiver, line)
    for earlier_line, earlier in sorted(calls.items(), reverse=True):
        if earlier_line >= line or not code.same_scope(earlier_line, line):
            continue
        if earlier == receiver or earlier in feeding:
            return Match("backward-twice", 0.9, line=earlier_line, related_lines=[line],
                         facts={"name": receiver, "line": earlier_line}, detail="second_call")
        # `(loss_real + loss_fake).backward()`: each loss of the sum is a subject of its own
        subjects = [earlier] if earlier is not None else _backward_subjects(code, earlier_line)
        for subject in subjects:
            shared = [n for n in _graph_inputs(ctx, subject, earlier_line) if n in feeding]
            if shared:
                origin = code.origin(subject, earlier_line)
                target = origin.line if origin is not None else earlier_line
                return Match("backward-twice", 0.9, line=target, related_lines=[earlier_line, line],
                             facts={"name": shared[0], "line": earlier_line}, detail="shared")
    return None


def _backward_subjects(code: CellCode, line: int) -> list[str]:
    """The names read by what `backward()` is called on at `line` (`a + b` for `(a + b).backward()`)."""
    for call in code.calls_on_line(line):
        if call_name(call) != "backward":
            continue
        method = isinstance(call.func, ast.Attribute) and dotted(call.func.value) not in ("torch.autograd", "autograd")
        subject = call.func.value if method else (call.args[0] if call.args else None)
        if subject is not None:
            return [n for n in loaded_names(subject) if "." not in n]
    return []


def _graph_inputs(ctx: Context, name: str, line: int) -> list[str]:
    """Tensors with autograd history that the statement computing `name` reads."""
    origin = ctx.code.origin(name, line)
    if origin is None:
        return []
    return [n for n in ctx.code.read_at(origin.line) if n != name and _has_graph(ctx.value(n))]


def _has_graph(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_has_graph(v) for v in value)
    return is_tensor(value) and value.grad_fn is not None


@matcher
def no_grad_fn(ctx: Context) -> Match | None:
    """backward() on a tensor without history (or autograd given a tensor made in inference
    mode): point at where that tensor was made."""
    name = _without_history(ctx)
    recorded = _history_from_evidence(ctx, name)
    if recorded is not None:
        return recorded
    if name is None:
        return None
    match = origin_match(ctx, "no-grad-fn", name, ctx.line, 0.9, {"name": name})
    if match is None:
        return None
    cut = _graph_cut(ctx, name, ctx.line)
    if cut is not None:
        if cut[1] != match.line:
            match.related_lines.append(match.line)
            match.line = cut[1]
        function = _no_grad_function(ctx, cut[1])
        if function is not None:  # cut[1] is the decorator of a function the tensor came from
            match.facts.update(name=cut[0], function=function.name, line=cut[1])
            match.detail = "no_grad_function"
        else:
            block = ctx.code.enclosing_with(cut[1], r"no_grad|inference_mode|set_grad_enabled")
            match.facts.update(name=cut[0], line=block.lineno if block is not None else cut[1])
            match.detail = "no_grad_block"
    elif match.line is not None:
        frozen = _frozen_module(ctx, match.line)
        op = _history_breaker(ctx.code, match.line)
        earlier = _frozen_by_earlier_cell(ctx, match.line) if frozen is None else None
        if frozen is not None:
            module, freeze_line = frozen
            if freeze_line != match.line:
                match.related_lines.append(match.line)
                match.line = freeze_line
            match.facts.update(name=module, line=freeze_line)
            match.detail = "frozen"
        elif earlier is not None:  # frozen by an earlier cell: the cell's line uses the model
            module, site = earlier
            match.cause = site
            match.facts.update(name=module, line=line_text(ctx, (match.line, site)))
            match.detail = "frozen"
        elif op:
            match.facts.update(op=op, line=match.line)
            match.detail = "origin"
        else:
            broken = _broken_in_helper(ctx.code, match.line)
            if broken is not None:  # `loss = weighted_loss(...)`: the helper rebuilt it without history
                match.related_lines.append(match.line)
                match.line = broken[1]
                match.facts.update(op=broken[0], line=broken[1])
                match.detail = "origin"
    return match


def _history_from_evidence(ctx: Context, name: str | None) -> Match | None:
    """From the run's evidence: where the tensor given to autograd lost its history (or never
    had one). An operation under `no_grad`/`inference_mode` points at that block or the
    decorator of the function it ran in; `.detach()`, `.data` or a tensor rebuilt from numbers
    at that operation; parameters frozen by the user's code at the freeze."""
    record = None
    recorder = ctx.evidence.recorder
    if recorder is not None and recorder.backwards and "does not require grad" in ctx.message:
        record = recorder.backwards[-1].subject  # what the failing backward() was called on
    if record is None and name is not None:
        record = ctx.record(ctx.value(name, ctx.frames[-1] if ctx.frames else ctx.innermost))
    if record is None:
        return None
    name = name or name_for(ctx, record) or "the loss"
    rebuilt = made_without_history(record)
    read_out = recorder.read_out if recorder is not None else set()
    if rebuilt is not None and rebuilt[-1].site is not None and \
            (rebuilt[-1].site.filename, rebuilt[-1].site.line) in read_out:
        trail = rebuilt  # rebuilt from `.item()` values of a tensor with history: that line cut it
    else:
        trail = history_cut(record)
    if trail is None:
        trail = made_without_history(record)
        if trail is None:
            return None
    end = trail[-1]
    if isinstance(end, Change):  # `p.requires_grad = False`, `requires_grad_(False)`
        where = place(ctx, trail)
        if where is None:
            return None
        if where[1] is None and where[0] is not None:
            # in a loop over `net.parameters()`, the loop chose what to freeze: that is the line
            stmt = ctx.code.statement_at(where[0])
            loop = next((a for a in ctx.code.ancestors(stmt) if isinstance(a, ast.For)
                         and "parameters" in ast.unparse(a.iter)), None) if stmt is not None else None
            if loop is not None:
                where = (loop.lineno, None)
        return _evidence_match(ctx, where, {"name": name_for(ctx, trail[-2]) or name, "line": where[0]}, "frozen")
    if end.parameter and not end.requires_grad and not any(p.requires_grad for p in end.inputs):
        return None  # frozen before the run: the cell's code says where (the static reading)
    if not end.grad_enabled or end.inference:
        block = _grad_off_block(ctx, end.site)
        if block is not None:
            site, detail, function = block
            where = place(ctx, [site_step(site, end.cell_line)])
            if where is not None:
                facts = {"name": name_for(ctx, end) or name, "line": where[0]}
                if function:
                    facts["function"] = function
                return _evidence_match(ctx, where, facts, detail)
    where = place(ctx, trail)
    if where is None:
        return None
    return _evidence_match(ctx, where, {"op": _op_text(end.op), "line": where[0], "name": name}, "origin")


def _evidence_match(ctx: Context, where: tuple, facts: dict, detail: str) -> Match:
    line, cause = where
    related = [ctx.line] if ctx.line is not None and ctx.line != line else []
    return Match("no-grad-fn", 0.9, line=line, related_lines=related, facts=facts, detail=detail, cause=cause)


def _op_text(op: str | None) -> str:
    if op in (None, "tensor", "as_tensor", "from_numpy"):
        return f"torch.{op or 'tensor'}(...)"
    return f".{op}" if op in ("data", "T") else f".{op}()"


def _grad_off_block(ctx: Context, site: Any) -> tuple[Any, str, str] | None:
    """The `with torch.no_grad()` (or `inference_mode`, `set_grad_enabled(False)`) around a
    site, or the no-grad decorator of the function it is in, or the block around a call of
    that function in the cell: (site of that line, detail, function name)."""
    if site is None:
        return None
    code = code_of(site.filename)
    block = code.enclosing_with(site.line, r"no_grad|inference_mode|set_grad_enabled")
    if block is not None:
        return Site(site.filename, block.lineno, site.function), "no_grad_block", ""
    stmt = code.statement_at(site.line)
    function = next((a for a in code.ancestors(stmt) if isinstance(a, ast.FunctionDef)), None) if stmt else None
    if function is None:
        return None
    decorator = _no_grad_decorator(function)
    if decorator is not None:
        return Site(site.filename, decorator.lineno, function.name), "no_grad_function", function.name
    for call in ctx.code.all_calls():
        if isinstance(call.func, (ast.Name, ast.Attribute)) and call_name(call) == function.name:
            outer = ctx.code.enclosing_with(call.lineno, r"no_grad|inference_mode|set_grad_enabled")
            if outer is not None:
                return Site(ctx.filename, outer.lineno, "<module>"), "no_grad_block", ""
    return None


def _broken_in_helper(code: CellCode, line: int) -> tuple[str, int] | None:
    """The op and line inside a cell function called on `line` whose returned tensor is made
    without history (`return torch.tensor(values).sum()`, `out = x.detach(); return out`)."""
    for call in code.calls_on_line(line):
        function = _cell_function(code, call)
        if function is None:
            continue
        for ret in (n for n in ast.walk(function) if isinstance(n, ast.Return) and n.value is not None):
            op = _history_breaker(code, ret.lineno)
            if op:
                return op, ret.lineno
            if isinstance(ret.value, ast.Name):
                made = code.origin(ret.value.id, ret.lineno, function)
                op = _history_breaker(code, made.line) if made is not None else None
                if op:
                    return op, made.line
    return None


def _without_history(ctx: Context) -> str | None:
    """The tensor the error is about: the subject of backward()/autograd.grad, or the tensor
    made in inference mode that an operation wanted to save for backward."""
    frame = ctx.innermost
    code, line = (frame.code, frame.line) if frame is not None else (ctx.code, ctx.line)
    if "does not require grad and does not have a grad_fn" in ctx.message:
        for call in code.calls_on_line(line):
            if call_name(call) == "backward" and isinstance(call.func, ast.Attribute):
                return base_name(call.func.value)
            if call_name(call) in ("grad", "backward") and call.args:
                return base_name(call.args[0])
    elif "Inference tensors cannot be saved for backward" in ctx.message:
        for name in code.read_at(line) if line else []:
            value = ctx.value(name, frame)
            if is_tensor(value) and value.is_inference():
                return name
    return None


def _frozen_module(ctx: Context, line: int, depth: int = 3) -> tuple[str, int] | None:
    """A model used on `line`, or on the lines that made the history-less tensors read there,
    whose parameters all have requires_grad=False, and the cell line that froze them
    (`model.requires_grad_(False)`, `p.requires_grad = False` in a loop)."""
    for name in ctx.code.read_at(line):
        value = ctx.value(name)
        if is_module(value):
            params = list(value.parameters())
            if params and not any(p.requires_grad for p in params):
                freeze = _freeze_line(ctx, {id(p) for p in params}, line)
                if freeze is not None:
                    return name, freeze
        elif depth and is_tensor(value) and value.grad_fn is None and not value.requires_grad:
            origin = ctx.code.origin(name, line)
            if origin is not None and origin.line != line:
                found = _frozen_module(ctx, origin.line, depth - 1)
                if found is not None:
                    return found
    return None


def _frozen_by_earlier_cell(ctx: Context, line: int) -> tuple[str, Site] | None:
    """A model used on `line` whose parameters are all frozen, and the line of an earlier cell
    (the most recent) that froze them, when this cell does not."""
    cells = sorted(getattr(ctx.evidence.user, "_cells", {}).items(), key=lambda kv: -kv[1])
    for name in ctx.code.read_at(line):
        value = ctx.value(name)
        params = list(value.parameters()) if is_module(value) else []
        if not params or any(p.requires_grad for p in params):
            continue
        for filename, _ in cells:
            if filename == ctx.filename:
                continue
            code = code_of(filename)
            found = _freeze_line(ctx, {id(p) for p in params}, len(code.lines) + 1, code)
            if found is not None:
                return name, Site(filename, found, "<module>")
    return None


def _freeze_line(ctx: Context, params: set[int], before: int, code: CellCode | None = None) -> int | None:
    """The last line before `before` of the cell (or of `code`, an earlier cell's) that turns
    requires_grad off for any of `params`."""
    code = code or ctx.code
    found = None
    for node in ast.walk(code.tree) if code.tree is not None else ():
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "requires_grad_":
            flag = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "requires_grad"), None)
            if isinstance(flag, ast.Constant) and flag.value is False:
                target = node.func.value
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is False:
            target = next((t.value for t in node.targets
                           if isinstance(t, ast.Attribute) and t.attr == "requires_grad"), None)
        if target is None or node.lineno >= before:
            continue
        if _parameter_ids(ctx, target, node, code) & params and (found is None or node.lineno > found):
            found = node.lineno
    return found


def _parameter_ids(ctx: Context, target: ast.AST, at: ast.AST, code: CellCode | None = None) -> set[int]:
    """Ids of the parameters `target` stands for: a module's, a tensor's own, or those of
    `X.parameters()` when `target` is the variable of a loop over it."""
    name = dotted(target)
    if name is None:
        return set()
    for loop in (code or ctx.code).ancestors(at):
        if isinstance(loop, ast.For) and name in [n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)] \
                and isinstance(loop.iter, ast.Call) and isinstance(loop.iter.func, ast.Attribute) \
                and loop.iter.func.attr in ("parameters", "named_parameters"):
            owner = dotted(loop.iter.func.value)
            module = ctx.value(owner) if owner else None
            return {id(p) for p in module.parameters()} if is_module(module) else set()
    value = ctx.value(name)
    if is_module(value):
        return {id(p) for p in value.parameters()}
    return {id(value)} if is_tensor(value) else set()


_BREAKERS = re.compile(r"^(torch\.)?(tensor|as_tensor|from_numpy|Tensor|FloatTensor|LongTensor)$|"
                       r"(^|\.)(detach|item|numpy|tolist|data)$")


def _history_breaker(code: CellCode, line: int) -> str | None:
    """The call on `line` that makes a tensor without history (`torch.tensor(...)`, `.detach()`, ...)."""
    stmt = code.statement_at(line)
    for node in ast.walk(stmt) if stmt is not None else ():
        name = dotted(node.func) if isinstance(node, ast.Call) else (
            dotted(node) if isinstance(node, ast.Attribute) and node.attr == "data" else None)
        if name and _BREAKERS.search(name):
            return name if isinstance(node, ast.Attribute) else f"{name}(...)"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and name is None \
                and _BREAKERS.search("." + node.func.attr):  # on an expression: `(w * ce).mean().detach()`
            return f".{node.func.attr}()"
    return None


def _graph_cut(ctx: Context, name: str, line: int, depth: int = 3) -> tuple[str, int] | None:
    """Where the history of `name` was cut: a tensor made under no_grad/inference_mode."""
    origin = ctx.code.origin(name, line)
    if origin is None or depth == 0:
        return None
    if ctx.code.enclosing_with(origin.line, r"no_grad|inference_mode|set_grad_enabled\(False\)"):
        return name, origin.line
    for call in ctx.code.calls_on_line(origin.line):  # a helper defined with @torch.no_grad()
        function = _cell_function(ctx.code, call)
        decorator = _no_grad_decorator(function) if function is not None else None
        if decorator is not None:
            return name, decorator.lineno
    for read in ctx.code.read_at(origin.line):
        value = ctx.value(read)
        if read != name and is_tensor(value) and value.grad_fn is None and not value.requires_grad \
                and value.is_floating_point():
            found = _graph_cut(ctx, read, origin.line, depth - 1)
            if found:
                return found
    return None


_NO_GRAD = re.compile(r"(^|\.)(no_grad|inference_mode)$")


def _cell_function(code: CellCode, call: ast.Call) -> ast.FunctionDef | None:
    """The function the cell defines under the name `call` calls, if any."""
    if not isinstance(call.func, ast.Name):
        return None
    defs = [s for s in code.statements if isinstance(s, ast.FunctionDef) and s.name == call.func.id]
    return defs[-1] if defs else None


def _no_grad_decorator(function: ast.FunctionDef) -> ast.AST | None:
    """The `@torch.no_grad()` / `@torch.inference_mode()` decorator of `function`, if it has one."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _NO_GRAD.search(dotted(target) or ""):
            return decorator
    return None


def _no_grad_function(ctx: Context, line: int) -> ast.FunctionDef | None:
    """The cell function whose no-grad decorator is on `line`."""
    for stmt in ctx.code.statements:
        if isinstance(stmt, ast.FunctionDef):
            decorator = _no_grad_decorator(stmt)
            if decorator is not None and decorator.lineno == line:
                return stmt
    return None


@matcher
def grad_none(ctx: Context) -> Match | None:
    """`.grad` read as None: the message is generic, the code says it is a gradient. A tensor
    that is not a leaf (made by an operation after `requires_grad=True`) never gets one: the
    line is where that operation made it."""
    if ctx.exc_type not in ("AttributeError", "TypeError") or "NoneType" not in ctx.message:
        return None
    frame = ctx.innermost
    code = frame.code if frame is not None else ctx.code
    line = frame.line if frame is not None else ctx.line
    if not re.search(r"\.grad\b(?!_fn)", code.line_text(line)):
        return None
    stmt = code.statement_at(line)
    owners = [dotted(n.value) for n in ast.walk(stmt) if isinstance(n, ast.Attribute) and n.attr == "grad"] \
        if stmt is not None else []
    for owner in filter(None, owners):
        value = ctx.value(owner, frame)
        if is_tensor(value) and value.grad_fn is not None:  # not a leaf: .grad is never filled
            match = origin_match(ctx, "grad-none", owner, line, 0.9,
                                 {"name": owner, "op": type(value.grad_fn).__name__}, detail="non_leaf", frame=frame)
            if match is not None:
                match.facts["line"] = line_text(ctx, (match.line, match.cause))
                return match
    for owner in filter(None, owners):
        match = _layer_never_run(ctx, ctx.value(owner, frame))
        if match is not None:
            return match
    here, cause = failing_place(ctx)
    return Match("grad-none", 0.9, line=here, facts={"name": next(filter(None, owners), "")}, cause=cause)


def _layer_never_run(ctx: Context, parameter: Any) -> Match | None:
    """A parameter without a gradient whose layer the run never ran (a head built but left out
    of `forward`): the line that built that layer."""
    recorder = ctx.evidence.recorder
    if recorder is None or not is_tensor(parameter) or not parameter.requires_grad or parameter.grad is not None:
        return None
    layer = next((m for m in list(recorder.built.keys())
                  if any(p is parameter for p in m.parameters(recurse=False))), None)
    if layer is None or ctx.record(parameter) is not None:  # no operation of the run used it
        return None
    site = module_site(ctx.evidence, layer)
    where = place(ctx, [site_step(site)]) if site is not None else None
    if where is None or where[0] is None:
        return None
    here = failing_place(ctx)[0]
    attribute = next((n for m in list(recorder.built.keys()) for n, c in m.named_children() if c is layer), "")
    kind = f"`{attribute}` ({type(layer).__name__})" if attribute else f"a {type(layer).__name__}"
    label = f"those of {kind}, built on line {line_text(ctx, where)} and never run by the forward pass"
    return Match("grad-none", 0.93, line=where[0], related_lines=[here] if here and here != where[0] else [],
                 facts={"names": label}, detail="unused", cause=where[1])


@matcher
def leaf_inplace(ctx: Context) -> Match | None:
    """An in-place change of a leaf that requires grad (a manual update outside no_grad)."""
    if not pattern_hits(ctx, "leaf-inplace"):
        return None
    frame = ctx.frames[-1] if ctx.frames else None
    for op in ctx.code.inplace_ops():
        if op.line == (frame.line if frame else ctx.line):
            value = ctx.value(op.name, frame)
            if is_tensor(value) and value.is_leaf and value.requires_grad:
                return Match("leaf-inplace", 0.8, line=op.line, facts={"name": op.name, "line": op.line},
                             detail="leaf")
    return None


@matcher
def numpy_of_graph(ctx: Context) -> Match | None:
    """`.numpy()` (or `np.array`) on tensors that carry a graph. When they reach the
    conversion in a list the cell filled (`history.append(loss)`), the line to change is
    where the cell puts them in; otherwise the conversion itself (detach it there)."""
    if not pattern_hits(ctx, "numpy-requires-grad"):
        return None
    line, cause = failing_place(ctx)
    frame = ctx.innermost
    for name in frame.code.read_at(frame.line) if frame is not None else []:
        value = ctx.value(name, frame)
        if isinstance(value, (list, tuple)) and any(is_tensor(v) and v.requires_grad for v in value):
            filled = _filled_at(ctx, value)
            if filled is not None:
                return Match("numpy-requires-grad", 0.85, line=filled, related_lines=[line] if line else [],
                             facts={"name": name, "line": filled}, detail="container")
        record = ctx.record(value) if cause is not None and is_tensor(value) and value.requires_grad else None
        if record is not None:
            # an earlier cell's helper converts a tensor this cell made: the cell's line that made it
            where = place(ctx, passed_on(record, ctx.filename))
            if where is not None and where[1] is None and where[0] is not None:
                assigned = ctx.code.assigned_at(where[0])
                facts = {"name": assigned[0] if len(assigned) == 1 else name, "line": where[0]}
                return Match("numpy-requires-grad", 0.85, line=where[0], related_lines=[line] if line else [],
                             facts=facts, detail="handed")
    return Match("numpy-requires-grad", 0.8, line=line, cause=cause)


def _filled_at(ctx: Context, container: Any) -> int | None:
    """The last line of the cell that puts items into the container it holds under some name
    (`.append`, `.extend`, `.insert`, `+=`)."""
    names = {n for n, v in list(ctx.namespace.items()) if v is container}
    for fr in ctx.frames:
        names |= {n for n, v in list(fr.frame.f_locals.items()) if v is container}
    found = None
    for node in ast.walk(ctx.code.tree) if ctx.code.tree is not None else ():
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("append", "extend", "insert") and dotted(node.func.value) in names:
            found = max(found or 0, node.lineno)
        elif isinstance(node, ast.AugAssign) and dotted(node.target) in names:
            found = max(found or 0, node.lineno)
    return found


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
    if len({r.generation for r in old}) < 2:  # one graph kept (features made before a loop) is not this
        return
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
    return None


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
