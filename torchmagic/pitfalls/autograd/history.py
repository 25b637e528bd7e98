"""The autograd family's matchers for lost history: a loss without grad_fn, a parameter whose
.grad is None, and numpy() of a tensor that requires grad."""
from __future__ import annotations

import ast
import re
from typing import Any

from ...diagnosis import Match
from ...source.values import is_module, is_tensor
from ...source.cellcode import CellCode, base_name, call_name, dotted
from ...evidence import Site
from ...evidence.provenance import Change
from ...evidence.queries import branch_point, read_without_history, history_cut, made_without_history, passed_on, site_step
from ...diagnose.locate import code_of
from ..helpers import (cell_argument, failing_place, line_text, module_site, name_for, origin_match, pattern_hits, place,
                       reached_by_backward)
from ..registry import Context, matcher


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
    name, line = cell_argument(ctx, ctx.innermost, name) or (name, ctx.line)
    match = origin_match(ctx, "no-grad-fn", name, line, 0.9, {"name": name})
    if match is None:
        return None
    cut = _graph_cut(ctx, name, line)
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
        match = _layer_never_run(ctx, ctx.value(owner, frame)) or _cut_from_loss(ctx, ctx.value(owner, frame), owner)
        if match is not None:
            return match
    here, cause = failing_place(ctx)
    return Match("grad-none", 0.9, line=here, facts={"name": next(filter(None, owners), "")}, cause=cause)


def _cut_from_loss(ctx: Context, parameter: Any, name: str) -> Match | None:
    """A parameter without a gradient that the losses' graphs did read, only through an
    operation that cut its history (`self.centers.detach()`, `.data`, a step under `no_grad`):
    the line of that operation."""
    recorder = ctx.evidence.recorder
    if recorder is None or not is_tensor(parameter) or not parameter.requires_grad or parameter.grad is not None:
        return None
    record = ctx.record(parameter)
    if record is None:
        return None
    for call in list(recorder.backwards):
        if call.subject is None:
            continue
        trail = read_without_history(call.subject, record)
        where = place(ctx, trail) if trail else None
        if where is None or where[0] is None:
            continue
        here = failing_place(ctx)[0]
        return Match("grad-none", 0.92, line=where[0], related_lines=[here] if here and here != where[0] else [],
                     facts={"name": name, "op": trail[-1].op or "", "line": line_text(ctx, where)}, detail="cut",
                     cause=where[1])
    return None


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
            filled = filled_at(ctx, value)
            if filled is not None:
                return Match("numpy-requires-grad", 0.85, line=filled, related_lines=[line] if line else [],
                             facts={"name": name, "line": filled}, detail="container")
        if isinstance(value, dict):  # `outputs["verts"].numpy()`: the dict's tensor that has a graph
            value = next((v for v in list(value.values())[:64] if is_tensor(v) and v.requires_grad), value)
        record = ctx.record(value) if cause is not None and is_tensor(value) and value.requires_grad else None
        if record is not None:
            # an earlier cell's helper converts a tensor this cell made: the cell's line where it
            # left the loss's graph (a softmax for a metric, a validation forward), else that made it
            departed = _left_training(ctx, record)
            where = place(ctx, departed or passed_on(record, ctx.filename))
            # a cell that runs no backward at all computed it for inference: the cell's line
            # that computed it (through an earlier cell's method) is where `no_grad` belongs
            inference = ctx.evidence.backward_passes == 0
            if where is not None and (where[1] is None or departed or inference) and where[0] is not None:
                assigned = ctx.code.assigned_at(where[0])
                facts = {"name": assigned[0] if len(assigned) == 1 else name, "line": where[0]}
                return Match("numpy-requires-grad", 0.85, line=where[0], related_lines=[line] if line else [],
                             facts=facts, detail="handed")
    return Match("numpy-requires-grad", 0.8, line=line, cause=cause)


def _left_training(ctx: Context, record: Any) -> list | None:
    """Where a tensor with history branched off what the run's backward passes went through
    (the model's output, its parameters): where a value meant for a metric or a report took its
    history with it. None when the run ran no backward."""
    reached = reached_by_backward(ctx.evidence)
    return branch_point(record, reached) if reached else None


def filled_at(ctx: Context, container: Any) -> int | None:
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
