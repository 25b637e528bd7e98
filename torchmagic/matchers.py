"""Matchers: small functions that recognise a pitfall in a failure and say where to fix it.

Each matcher takes a :class:`Context` and returns a :class:`Match` (or a list of them) or
None for "not mine". :func:`rank` runs them all, isolating any that crash, merges what
they found per pitfall and orders the pitfalls best first.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from .cellcode import Binding, CellCode, base_name, call_name, dotted, loaded_names
from .diagnosis import Match
from .knowledge import Entry, catalog, user_matchers
from .locate import CellFrame, ForwardTrace

MatcherResult = Match | Iterable[Match] | None
_registry: list[Callable[["Context"], MatcherResult]] = []

PATTERN_SCORE = 0.6
SILENT_PATTERN_SCORE = 0.5  # a silent pitfall's warning text seen in an error: below error entries
USER_PATTERN_SCORE = 0.9


def matcher(func: Callable[["Context"], MatcherResult]) -> Callable[["Context"], MatcherResult]:
    """Register a built-in matcher."""
    _registry.append(func)
    return func


@dataclass
class Context:
    """What a matcher may look at: the error, the cell's code and the values around the failure."""

    exc: BaseException
    code: CellCode
    line: int | None  # the deepest cell line of the traceback
    frames: list[CellFrame] = field(default_factory=list)
    namespace: Mapping[str, Any] = field(default_factory=dict)
    forward: ForwardTrace | None = None

    @property
    def exc_type(self) -> str:
        return type(self.exc).__name__

    @property
    def message(self) -> str:
        return str(self.exc)

    def value(self, name: str, frame: CellFrame | None = None) -> Any:
        """The current value of a (dotted) name in the failing frame, read-only; None if unknown."""
        frame = frame or (self.frames[-1] if self.frames else None)
        scope = MappingProxyType(frame.frame.f_locals) if frame else self.namespace
        first, *rest = name.split(".")
        if first in scope:
            obj = scope[first]
        elif frame is not None and first in frame.frame.f_globals:
            obj = frame.frame.f_globals[first]
        elif first in self.namespace:
            obj = self.namespace[first]
        else:
            return None
        for attr in rest:
            obj = _safe_attr(obj, attr)
            if obj is None:
                return None
        return obj

    def frame_at(self, line: int | None) -> CellFrame | None:
        for fr in reversed(self.frames):
            if fr.line == line:
                return fr
        return self.frames[-1] if self.frames else None


def _safe_attr(obj: Any, attr: str) -> Any:
    """getattr that reads only stored state (module submodules, parameters, instance dicts)."""
    for store in ("_modules", "_parameters", "_buffers"):
        table = getattr(obj, "__dict__", {}).get(store)
        if isinstance(table, dict) and attr in table:
            return table[attr]
    return getattr(obj, "__dict__", {}).get(attr)


def _torch():
    import torch

    return torch


def is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and _torch().is_tensor(value)


def is_module(value: Any) -> bool:
    return isinstance(value, _torch().nn.Module)


# ---------------------------------------------------------------------------- ranking
def rank(ctx: Context, entries: Mapping[str, Entry] | None = None) -> list[Match]:
    """All matches for the failure, merged per pitfall, best first. Never raises."""
    entries = entries if entries is not None else catalog()
    found: list[Match] = []
    chained = _chained(ctx.exc)
    for pid, entry in entries.items():
        try:
            base = USER_PATTERN_SCORE if entry.user else (
                SILENT_PATTERN_SCORE if entry.kind == "silent" else PATTERN_SCORE)
            if entry.matches_message(ctx.exc_type, ctx.message):
                found.append(Match(pid, base))
            elif any(entry.matches_message(type(e).__name__, str(e)) for e in chained):
                # the underlying cause (e.g. a worker's Bus error behind "worker exited") is
                # more specific than the generic message on top
                found.append(Match(pid, base + 0.02))
        except Exception:
            continue
    for pid, user_func in user_matchers():
        found.extend(_run_user_matcher(pid, user_func, ctx))
    for func in _registry:
        try:
            result = func(ctx)
        except Exception:
            continue  # a crashing matcher must never hide the user's error
        if isinstance(result, Match):
            found.append(result)
        elif result:
            found.extend(m for m in result if isinstance(m, Match))
    merged: dict[str, Match] = {}
    for m in found:
        if m.pitfall not in entries:
            continue
        have = merged.get(m.pitfall)
        if have is None:
            merged[m.pitfall] = Match(m.pitfall, m.score, m.line, list(m.related_lines), dict(m.facts), m.detail)
            continue
        stronger = m.score > have.score
        have.score = max(have.score, m.score)
        if m.line is not None and (have.line is None or stronger):
            have.line = m.line
        have.related_lines += [r for r in m.related_lines if r not in have.related_lines]
        have.facts.update(m.facts)
        if m.detail and (not have.detail or stronger):
            have.detail = m.detail
    return sorted(merged.values(), key=lambda m: -m.score)


def _chained(exc: BaseException) -> list[BaseException]:
    """The exceptions behind `exc` (its __cause__ / __context__ chain), nearest first."""
    out: list[BaseException] = []
    current = exc.__cause__ or exc.__context__
    while current is not None and current not in out and len(out) < 5:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _run_user_matcher(pid: str, func: Callable, ctx: Context) -> list[Match]:
    try:
        result = func(ctx)
    except Exception:
        return []
    if isinstance(result, Match):
        return [result]
    if isinstance(result, (int, float)) and not isinstance(result, bool) and result > 0:
        return [Match(pid, 1.0 + float(result))]
    return []


# ---------------------------------------------------------------------------- helpers
_LOSS_CALLS = re.compile(r"(cross_entropy|nll_loss|CrossEntropyLoss|NLLLoss|criterion|loss_fn|loss_func|"
                         r"lossfn|loss_fct|loss|bce|binary_cross_entropy\w*|mse_loss|l1_loss|ctc_loss)$", re.I)


def loss_calls(ctx: Context, line: int | None) -> list[ast.Call]:
    """Calls on `line` that look like a loss function applied to (input, target)."""
    out = []
    for call in ctx.code.calls_on_line(line):
        name = call_name(call)
        value = ctx.value(dotted(call.func) or "") if dotted(call.func) else None
        if _LOSS_CALLS.search(name) or (value is not None and type(value).__name__.endswith("Loss")):
            if len(call.args) >= 2 or any(k.arg == "target" for k in call.keywords):
                out.append(call)
    return out


def target_arg(call: ast.Call) -> ast.AST | None:
    for k in call.keywords:
        if k.arg == "target":
            return k.value
    return call.args[1] if len(call.args) >= 2 else None


def origin_match(ctx: Context, pid: str, name: str | None, line: int | None, score: float,
                 facts: dict | None = None, detail: str = "") -> Match | None:
    """A match that points at the cell line where `name` (read on `line`) got its value."""
    if not name or line is None:
        return None
    passed = _passed_in(ctx, name, line)
    if passed is not None:  # a parameter: where the caller's argument was made
        match = origin_match(ctx, pid, passed[0], passed[1], score, facts, detail)
        if match is not None and line not in match.related_lines and line != match.line:
            match.related_lines.append(line)
        return match
    binding = _made_at(ctx, name, line)
    if binding is None or binding.line == line:
        return Match(pid, score, line=line, facts=facts or {}, detail=detail)
    return Match(pid, score, line=binding.line, related_lines=[line], facts=facts or {}, detail=detail)


def _made_at(ctx: Context, name: str, line: int) -> Binding | None:
    """Where `name`, read on `line`, got its value; for a batch of a DataLoader over the cell's
    Dataset, the `__getitem__` line that made that element of a sample."""
    binding = ctx.code.origin(name, line)
    return (ctx.code.item_origin(binding) or binding) if binding is not None else None


def _passed_in(ctx: Context, name: str, line: int) -> tuple[str, int] | None:
    """(argument, caller's line) when `name`, read on `line`, is a parameter of the cell
    function running there that the function never reassigns, and the cell line that called
    it (the next frame out) passed a plain name for it: `clf(ids_t)` for `forward(self, ids)`."""
    code = ctx.code
    func = code.scope_of(code.statement_at(line))
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    params = [a.arg for a in func.args.posonlyargs + func.args.args]
    if name not in params or any(b.name == name and b.line < line for b in code.bindings(func)):
        return None
    at = next((i for i in range(len(ctx.frames) - 1, 0, -1)
               if ctx.frames[i].line == line and ctx.frames[i].function == func.name), None)
    if at is None:
        return None
    caller = ctx.frames[at - 1]
    cls = code.parent(func)
    method = isinstance(cls, ast.ClassDef)
    index = params.index(name) - (1 if method else 0)

    def calls_func(call: ast.Call) -> bool:
        if not method:
            return isinstance(call.func, ast.Name) and call.func.id == func.name
        if isinstance(call.func, ast.Attribute) and call.func.attr == func.name:
            return True
        # `model(x)` runs `forward`
        return func.name == "forward" and bool(dotted(call.func)) \
            and type(ctx.value(dotted(call.func), caller)).__name__ == cls.name

    for call in filter(calls_func, code.calls_on_line(caller.line)):
        if any(isinstance(a, ast.Starred) for a in call.args):
            return None
        arg = call.args[index] if 0 <= index < len(call.args) else next(
            (k.value for k in call.keywords if k.arg == name), None)
        return (arg.id, caller.line) if isinstance(arg, ast.Name) else None
    return None


def first_module(ctx: Context, frame: CellFrame | None, where: Callable[[Any], bool] | None = None
                 ) -> tuple[str, Any] | None:
    """The first nn.Module named on the frame's line (optionally one that satisfies `where`)."""
    return _first_named(ctx, frame, is_module, where)


def first_tensor(ctx: Context, frame: CellFrame | None, where: Callable[[Any], bool] | None = None
                 ) -> tuple[str, Any] | None:
    """The first tensor named on the frame's line (optionally one that satisfies `where`)."""
    return _first_named(ctx, frame, is_tensor, where)


def _first_named(ctx: Context, frame: CellFrame | None, kind: Callable[[Any], bool],
                 where: Callable[[Any], bool] | None) -> tuple[str, Any] | None:
    line = frame.line if frame else ctx.line
    for name in ctx.code.read_at(line) if line else []:
        value = ctx.value(name, frame)
        if kind(value) and (where is None or where(value)):
            return name, value
    return None


def describe(value: Any) -> dict[str, str]:
    """Shape/dtype/device facts about a tensor."""
    if not is_tensor(value):
        return {}
    return {"shape": tuple(value.shape).__repr__(), "dtype": str(value.dtype).replace("torch.", ""),
            "device": str(value.device)}


def pattern_hits(ctx: Context, pid: str) -> bool:
    entry = catalog().get(pid)
    return bool(entry and entry.matches_message(ctx.exc_type, ctx.message))


# ---------------------------------------------------------------------------- autograd
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


def _assigned_from_call(code: CellCode, op) -> bool:
    binding = code.origin(op.name, op.line)
    return binding is not None and isinstance(getattr(binding.node, "value", None), (ast.Call, ast.BinOp))


@matcher
def nan_in_backward(ctx: Context) -> Match | None:
    """NaN from a backward function: the forward op anomaly mode recorded."""
    m = re.search(r"Function '(\w+)' returned nan values in its (\d+)\w* output", ctx.message)
    if not m:
        return None
    line = ctx.forward.line if ctx.forward else None
    function = m.group(1)
    op = re.sub(r"Backward\d*$", "", function).lower()
    facts = {"function": function, "op": op}
    if line is not None:
        facts["line"] = line
    return Match("nan-in-backward", 0.95, line=line, facts=facts, detail="origin")


@matcher
def backward_twice(ctx: Context) -> Match | None:
    """Backward through a freed graph: a graph built outside the loop iteration that uses it."""
    if not re.search(r"backward through the graph a second time|saved tensors after they have already been freed",
                     ctx.message):
        return None
    stmt = ctx.code.statement_at(ctx.line)
    loops = ctx.code.loops_around(stmt) if stmt is not None else []
    if not loops:
        return _shared_with_earlier_backward(ctx) or Match("backward-twice", 0.9, line=ctx.line)
    loop = loops[-1]  # the outermost loop in this scope
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
        return Match("backward-twice", 0.95, line=b.line, related_lines=[ctx.line],
                     facts={"name": b.name, "line": b.line}, detail="outside_loop")
    # 3. state a module of the cell keeps between calls (`self.memory = h` in forward)
    for name in sorted(read_inside):
        kept = _state_kept_by_module(ctx, name)
        if kept is not None:
            return Match("backward-twice", 0.95, line=kept[1], related_lines=[ctx.line],
                         facts={"name": kept[0]}, detail="carried")
    return _shared_with_earlier_backward(ctx) or Match("backward-twice", 0.85, line=ctx.line)


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
        if frozen is not None:
            module, freeze_line = frozen
            if freeze_line != match.line:
                match.related_lines.append(match.line)
                match.line = freeze_line
            match.facts.update(name=module, line=freeze_line)
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
    if "does not require grad and does not have a grad_fn" in ctx.message:
        for call in ctx.code.calls_on_line(ctx.line):
            if call_name(call) == "backward" and isinstance(call.func, ast.Attribute):
                return base_name(call.func.value)
            if call_name(call) in ("grad", "backward") and call.args:
                return base_name(call.args[0])
    elif "Inference tensors cannot be saved for backward" in ctx.message:
        for name in ctx.code.read_at(ctx.line) if ctx.line else []:
            value = ctx.value(name)
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


def _freeze_line(ctx: Context, params: set[int], before: int) -> int | None:
    """The last cell line before `before` that turns requires_grad off for any of `params`."""
    found = None
    for node in ast.walk(ctx.code.tree) if ctx.code.tree is not None else ():
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
        if _parameter_ids(ctx, target, node) & params and (found is None or node.lineno > found):
            found = node.lineno
    return found


def _parameter_ids(ctx: Context, target: ast.AST, at: ast.AST) -> set[int]:
    """Ids of the parameters `target` stands for: a module's, a tensor's own, or those of
    `X.parameters()` when `target` is the variable of a loop over it."""
    name = dotted(target)
    if name is None:
        return set()
    for loop in ctx.code.ancestors(at):
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
    """`.grad` read as None: the message is generic, the code says it is a gradient."""
    if ctx.exc_type not in ("AttributeError", "TypeError") or "NoneType" not in ctx.message:
        return None
    text = ctx.code.line_text(ctx.line)
    if not re.search(r"\.grad\b(?!_fn)", text):
        return None
    stmt = ctx.code.statement_at(ctx.line)
    owners = [dotted(n.value) for n in ast.walk(stmt) if isinstance(n, ast.Attribute) and n.attr == "grad"] \
        if stmt is not None else []
    for owner in filter(None, owners):
        value = ctx.value(owner)
        if is_tensor(value) and value.grad_fn is not None:  # not a leaf: .grad is never filled
            match = origin_match(ctx, "grad-none", owner, ctx.line, 0.9,
                                 {"name": owner, "op": type(value.grad_fn).__name__}, detail="non_leaf")
            if match is not None:
                match.facts["line"] = match.line
                return match
    return Match("grad-none", 0.9, line=ctx.line, facts={"name": next(filter(None, owners), "")})


# ---------------------------------------------------------------------------- targets and dtypes
@matcher
def loss_target(ctx: Context) -> Match | None:
    """Bad class labels or label dtype: point at the line that made the targets."""
    for pid in ("target-out-of-range", "loss-target-dtype"):
        if not pattern_hits(ctx, pid):
            continue
        for frame in reversed(ctx.frames):
            for call in loss_calls(ctx, frame.line):
                target = target_arg(call)
                name = base_name(target) if target is not None else None
                if name:
                    facts: dict[str, Any] = {"name": name, "loss": dotted(call.func) or call_name(call)}
                    value = ctx.value(name, frame)
                    if is_tensor(value) and value.numel():
                        facts.update(describe(value))
                        if not value.is_floating_point():
                            facts.update(min=int(value.min()), max=int(value.max()))
                    input_name = base_name(call.args[0]) if call.args else None
                    logits = ctx.value(input_name, frame) if input_name else None
                    if is_tensor(logits) and logits.dim() >= 1:
                        classes = int(logits.shape[1] if logits.dim() >= 2 else logits.shape[0])
                        facts.update(other=input_name, num_classes=classes, last=classes - 1,
                                     expected=str(logits.dtype).replace("torch.", ""))
                    loss_obj = ctx.value(dotted(call.func), frame) if dotted(call.func) else None
                    kind = (facts["loss"] + " " + type(loss_obj).__name__).lower()
                    binary = "binary" in kind or "bce" in kind or facts.get("dtype") == "int64"
                    detail = "classes" if pid == "target-out-of-range" else ("binary" if binary else "class_index")
                    ignored = next((_const(k.value) for k in call.keywords if k.arg == "ignore_index"),
                                   getattr(loss_obj, "ignore_index", -100))
                    write = _bad_label_write(ctx, name, frame.line, facts.get("num_classes"), ignored) \
                        if pid == "target-out-of-range" else None
                    if write is not None:
                        return Match(pid, 0.9, line=write, related_lines=[frame.line], facts=facts, detail=detail)
                    marker = _padding_marker(value, facts.get("num_classes")) if pid == "target-out-of-range" else None
                    if marker is not None:
                        # one marker value, valid labels elsewhere: made in the cell, that is the line;
                        # made elsewhere, the loss must be told to skip it (ignore_index)
                        facts["marker"] = marker
                        made = ctx.code.origin(name, frame.line)
                        if made is not None and made.line != frame.line:
                            return origin_match(ctx, pid, name, frame.line, 0.9, facts, detail="padding")
                        built = ctx.code.origin(dotted(call.func), frame.line) if dotted(call.func) else None
                        line = built.line if built is not None and is_module(loss_obj) else frame.line
                        related = [frame.line] if line != frame.line else []
                        return Match(pid, 0.9, line=line, related_lines=related, facts=facts, detail="padding")
                    return origin_match(ctx, pid, name, frame.line, 0.9, facts, detail=detail)
    return None


def _padding_marker(target: Any, classes: int | None) -> int | None:
    """The one value that marks labels to skip, when it is the only bad label: negative
    (padding, 'unlabelled': -1) or 255 (the usual 'ignore' pixel of segmentation masks).
    None otherwise, e.g. for 1-based labels, whose bad value is the number of classes."""
    if not is_tensor(target) or target.is_floating_point() or not target.numel():
        return None
    bad = target < 0
    if classes is not None:
        bad |= target >= classes
    if not bool(bad.any()):
        return None
    marker = int(target[bad][0])
    if not bool((target[bad] == marker).all()) or not (marker < 0 or (marker == 255 and (classes or 0) < 255)):
        return None
    return marker


def _bad_label_write(ctx: Context, name: str, line: int, classes: int | None, ignored: Any = -100
                     ) -> int | None:
    """The last line before `line` that writes a constant label out of range into `name`
    (`labels[mask] = -1`, `y[i] = 10` for 10 classes); the loss's `ignore_index` is fine."""
    found = None
    for stmt in ctx.code.statements:
        if not isinstance(stmt, ast.Assign) or stmt.lineno >= line:
            continue
        if not any(isinstance(t, ast.Subscript) and base_name(t.value) == name for t in stmt.targets):
            continue
        value = _const(stmt.value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value != ignored \
                and (value < 0 or (classes is not None and value >= classes)):
            found = max(found or 0, stmt.lineno)
    return found


@matcher
def dtype_mismatch(ctx: Context) -> Match | None:
    """Mixed dtypes: the line that made the float64 (or otherwise odd) tensor."""
    if not pattern_hits(ctx, "dtype-mismatch"):
        return None
    for frame in reversed(ctx.frames):
        for name in ctx.code.read_at(frame.line):
            value = ctx.value(name, frame)
            if is_tensor(value) and value.dtype in (_torch().float64, _torch().float16, _torch().bfloat16):
                binding = _made_at(ctx, name, frame.line)
                if binding is None and name.startswith("self."):
                    binding = _attribute_origin(ctx.code, name[len("self."):], frame.line)
                if binding is not None and binding.line != frame.line:
                    facts = {"name": name, **describe(value)}
                    detail = "dtypes"
                    other = first_tensor(ctx, frame, lambda t: t.is_floating_point() and t.dtype != value.dtype)
                    if other is not None:
                        facts.update(other=other[0], other_dtype=str(other[1].dtype).replace("torch.", ""))
                    module = first_module(ctx, frame)
                    if module is not None:
                        params = list(module[1].parameters())
                        if params:
                            facts.update(module=module[0], expected=str(params[0].dtype).replace("torch.", ""))
                            detail = "module"
                    return Match("dtype-mismatch", 0.9, line=binding.line, related_lines=[frame.line],
                                 facts=facts, detail=detail)
    return None


def _attribute_origin(code: CellCode, attr: str, line: int) -> Binding | None:
    """Where the class around `line` sets `self.<attr>`: an assignment, or
    `self.register_buffer("<attr>", ...)` / `self.register_parameter("<attr>", ...)`."""
    stmt = code.statement_at(line)
    owner = next((a for a in code.ancestors(stmt) if isinstance(a, ast.ClassDef)), None) if stmt else None
    if owner is None:
        return None
    found = None
    for node in ast.walk(owner):
        if isinstance(node, ast.Assign) and any(dotted(t) == f"self.{attr}" for t in node.targets):
            found = found or node
        elif isinstance(node, ast.Call) and call_name(node) in ("register_buffer", "register_parameter") \
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == attr:
            found = found or node
    return Binding(f"self.{attr}", found.lineno, found) if found is not None else None


# ---------------------------------------------------------------------------- shapes and indices
@matcher
def index_dtype(ctx: Context) -> Match | None:
    """Floating-point indices: the line that made the index tensor."""
    if not pattern_hits(ctx, "index-dtype"):
        return None
    for frame in reversed(ctx.frames):
        for name in _index_names(ctx, frame):
            value = ctx.value(name, frame)
            if is_tensor(value) and value.is_floating_point():
                facts = {"name": name, "dtype": str(value.dtype).replace("torch.", "")}
                return origin_match(ctx, "index-dtype", name, frame.line, 0.9, facts, detail="dtype")
    return None


_INDEX_METHODS = {"gather", "scatter", "scatter_", "scatter_add", "scatter_add_", "scatter_reduce",
                  "index_select", "index_add", "index_add_", "index_copy", "index_copy_", "index_fill",
                  "index_fill_", "take", "take_along_dim", "put_", "index_put_"}


def _index_names(ctx: Context, frame: CellFrame) -> list[str]:
    """Names used as indices on the frame's line: subscripts, the index of gather/scatter/
    index_select, and the ids given to an embedding or one_hot."""
    stmt = ctx.code.statement_at(frame.line)
    exprs: list[ast.AST] = []
    for node in ast.walk(stmt) if stmt is not None else ():
        if isinstance(node, ast.Subscript):
            exprs.append(node.slice)
        elif isinstance(node, ast.Call):
            name = call_name(node)
            if name in _INDEX_METHODS:
                exprs += [k.value for k in node.keywords if k.arg == "index"]
                is_function = isinstance(node.func, ast.Attribute) and dotted(node.func.value) in ("torch",)
                exprs += node.args[1:] if is_function else node.args
            elif name in ("embedding", "one_hot") and node.args:
                exprs.append(node.args[0])
            elif node.args and isinstance(ctx.value(dotted(node.func) or "", frame), _torch().nn.Embedding):
                exprs.append(node.args[0])
    names: list[str] = []
    for expr in exprs:
        names += [n for n in loaded_names(expr) if n not in names]
    return names


@matcher
def embedding_index(ctx: Context) -> Match | None:
    """An id past the end of an nn.Embedding: the table was built too small for the ids."""
    if "index out of range in self" not in ctx.message:
        return None
    torch = _torch()
    candidates: list[tuple[bool, CellFrame, ast.Call, str, Any, dict]] = []
    for frame in reversed(ctx.frames):
        for call in ctx.code.calls_on_line(frame.line):
            name = dotted(call.func)
            module = ctx.value(name, frame) if name else None
            if not isinstance(module, torch.nn.Embedding):
                continue
            size = module.num_embeddings
            facts: dict[str, Any] = {"module": name, "size": size, "last": size - 1}
            overflow = False
            if call.args:
                ids = ctx.value(base_name(call.args[0]) or "", frame)
                if is_tensor(ids) and ids.numel() and not ids.is_floating_point():
                    facts.update(max=int(ids.max()), min=int(ids.min()), name=base_name(call.args[0]))
                    overflow = facts["max"] >= module.num_embeddings or facts["min"] < 0
            candidates.append((overflow, frame, call, name, module, facts))
        if candidates:
            break
    if not candidates:
        return None
    # the table whose ids really overflow, else the first one on the line
    _, frame, call, name, module, facts = max(candidates, key=lambda c: c[0])
    built = _construction(ctx, name, frame.line)
    if built is None or built[0] == frame.line:
        return Match("index-out-of-bounds", 0.85, line=frame.line, facts=facts, detail="embedding")
    sized = _size_origin(ctx, built)
    if sized is not None and sized != built[0]:
        return Match("index-out-of-bounds", 0.9, line=sized, related_lines=[built[0], frame.line],
                     facts=facts, detail="embedding")
    return Match("index-out-of-bounds", 0.9, line=built[0], related_lines=[frame.line],
                 facts=facts, detail="embedding")


def _size_origin(ctx: Context, built: tuple[int, ast.Call]) -> int | None:
    """Where the size passed to Embedding(...) was computed, when it was passed as a variable."""
    line, call = built
    size = next((k.value for k in call.keywords if k.arg == "num_embeddings"), call.args[0] if call.args else None)
    if isinstance(size, ast.Name):
        origin = ctx.code.origin(size.id, line)
        return origin.line if origin is not None else None
    return None


def _construction(ctx: Context, name: str, line: int) -> tuple[int, ast.Call] | None:
    """The cell line and call that built the module called as `name` (also `self.x` in a cell class)."""
    if name.startswith("self."):
        assigns = [s for s in ctx.code.statements if isinstance(s, ast.Assign)
                   and any(dotted(t) == name for t in s.targets)]
        binding_nodes = [(s.lineno, s) for s in assigns]
    else:
        binding = ctx.code.origin(name, line)
        binding_nodes = [(binding.line, binding.node)] if binding is not None else []
    for at, node in binding_nodes:
        value = getattr(node, "value", None)
        call = _value_for(node, name, value)
        if isinstance(call, ast.Call):
            return at, call
    return None


def _value_for(node: ast.AST, name: str, value: ast.AST | None) -> ast.AST | None:
    """The part of an assignment's value that `name` receives (`a, b = f(), g()` gives `g()` to b)."""
    if isinstance(value, ast.Tuple):
        for target in getattr(node, "targets", []):
            if isinstance(target, ast.Tuple) and len(target.elts) == len(value.elts):
                for elt, val in zip(target.elts, value.elts):
                    if dotted(elt) == name:
                        return val
        return None
    return value


_CHANNELS = re.compile(r"weight of size \[(\d+), (\d+)(?:, \d+)*\], expected input\[[\d, ]+\] to have (\d+) "
                       r"channels, but got (\d+) channels")


@matcher
def conv_channels(ctx: Context) -> Match | None:
    """Input channels that don't match a conv layer: the layer built in the cell, if it is there."""
    m = _CHANNELS.search(ctx.message)
    if not m:
        return None
    out_c, expected, got = int(m.group(1)), int(m.group(3)), int(m.group(4))
    facts: dict[str, Any] = {"expected": expected, "got": got, "out_channels": out_c}
    frame = ctx.frames[-1] if ctx.frames else None
    tensor = _input_and_layer(ctx, frame, lambda t: t.dim() >= 3 and t.shape[-3] == got,
                              "in_channels", expected, facts)
    if tensor and tensor[1].shape[-1] == expected and tensor[1].dim() >= 3:
        # channels last (N, H, W, C), as images come from PIL/OpenCV: the input needs a permute
        match = origin_match(ctx, "conv-input-shape", tensor[0], frame.line if frame else ctx.line, 0.9,
                             facts, detail="channels")
        if match is not None:
            return match
    for stmt_call in (n for n in ast.walk(ctx.code.tree) if isinstance(n, ast.Call)) if ctx.code.tree else ():
        if not re.fullmatch(r"Conv(Transpose)?[123]d|LazyConv[123]d", call_name(stmt_call)):
            continue
        args = [_const(a) for a in stmt_call.args[:2]]
        kw = {k.arg: _const(k.value) for k in stmt_call.keywords}
        in_c = kw.get("in_channels", args[0] if args else None)
        o_c = kw.get("out_channels", args[1] if len(args) > 1 else None)
        if in_c == expected and o_c in (out_c, None):
            return Match("conv-input-shape", 0.9, line=stmt_call.lineno,
                         related_lines=[ctx.line] if ctx.line else [], facts=facts, detail="channels")
    return Match("conv-input-shape", 0.85, line=ctx.line, facts=facts, detail="channels")


_ARITH = {ast.Mult: lambda a, b: a * b, ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
          ast.FloorDiv: lambda a, b: a // b}


def _const(node: ast.AST) -> Any:
    """The value of a literal or of integer arithmetic on literals (`28 * 28`), else None."""
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        left, right = _const(node.left), _const(node.right)
        if isinstance(left, int) and isinstance(right, int):
            return _ARITH[type(node.op)](left, right)
        return None
    try:
        return ast.literal_eval(node)
    except Exception:
        return None


_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


@matcher
def matmul_shapes(ctx: Context) -> Match | None:
    """Linear-layer size mismatch: name the input and the layer with their shapes."""
    m = _MATMUL.search(ctx.message)
    if not m:
        return None
    rows, got, expected, out = (int(g) for g in m.groups())
    facts: dict[str, Any] = {"rows": rows, "got": got, "expected": expected, "out": out}
    frame = ctx.frames[-1] if ctx.frames else None
    _input_and_layer(ctx, frame, lambda t: t.dim() >= 1 and t.shape[-1] == got, "in_features", expected, facts)
    return Match("shape-mismatch", 0.85, line=ctx.line, facts=facts, detail="linear")


def _input_and_layer(ctx: Context, frame: CellFrame | None, fits: Callable[[Any], bool], attr: str,
                     expected: int, facts: dict[str, Any]) -> tuple[str, Any] | None:
    """The tensor on the failing line that `fits` the error's input size, and the layer that
    expected another size (`attr == expected` on it or on one of its submodules). With both,
    their names and the input's shape go into `facts`. Returns the tensor found."""
    tensor = first_tensor(ctx, frame, fits)
    module = first_module(ctx, frame, lambda mod: getattr(mod, attr, None) == expected) or \
        first_module(ctx, frame, lambda mod: any(getattr(sub, attr, None) == expected for sub in mod.modules()))
    if tensor and module:
        facts.update(name=tensor[0], shape=str(tuple(tensor[1].shape)), module=module[0])
    return tensor


# ---------------------------------------------------------------------------- data loading
@matcher
def cuda_unavailable(ctx: Context) -> Match | None:
    """No CUDA here: the build's facts, and the line that hard-coded the device when the
    failing line reads it from a variable (`device = "cuda"` ... `model.to(device)`)."""
    if not pattern_hits(ctx, "cuda-not-available"):
        return None
    torch = _torch()
    facts = {"version": torch.__version__, "built": str(torch.backends.cuda.is_built()),
             "available": str(torch.cuda.is_available())}
    for frame in reversed(ctx.frames):
        for name in ctx.code.read_at(frame.line):
            value = ctx.value(name, frame)
            wants_cuda = (isinstance(value, str) and value.startswith("cuda")) or (
                isinstance(value, torch.device) and value.type == "cuda")
            if not wants_cuda:
                continue
            origin = ctx.code.origin(name, frame.line)
            if origin is not None and origin.line != frame.line:
                return Match("cuda-not-available", 0.9, line=origin.line, related_lines=[frame.line],
                             facts={**facts, "name": name, "value": str(value), "line": origin.line},
                             detail="device_variable")
    return Match("cuda-not-available", 0.85, facts=facts, detail="build")


@matcher
def dataloader_origin(ctx: Context) -> Match | None:
    """DataLoader worker failures: the line that built the loader (num_workers, the Dataset)."""
    pid = next((p for p in ("dataloader-worker-pickle", "dataloader-shm") if pattern_hits(ctx, p)), None)
    if pid is None:
        return None
    torch = _torch()
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


@matcher
def bn_last_batch(ctx: Context) -> Match | None:
    """BatchNorm given one sample: a DataLoader whose last batch holds a single sample is the
    usual cause, and `drop_last=True` where it is built is the fix."""
    if not pattern_hits(ctx, "bn-batch-size-one"):
        return None
    torch = _torch()
    for frame in reversed(ctx.frames):
        stmt = ctx.code.statement_at(frame.line)
        for loop in ctx.code.loops_around(stmt) if stmt is not None else []:
            if not isinstance(loop, ast.For):
                continue
            for name in loaded_names(loop.iter):
                loader = ctx.value(name, frame)
                if not isinstance(loader, torch.utils.data.DataLoader) or loader.drop_last:
                    continue
                try:
                    size, batch = len(loader.dataset), loader.batch_size
                except Exception:
                    continue
                if batch and batch > 1 and size % batch == 1:
                    facts = {"loader": name, "size": size, "batch_size": batch}
                    match = origin_match(ctx, "bn-batch-size-one", name, loop.lineno, 0.9, facts,
                                         detail="last_batch")
                    if match is not None and frame.line != match.line:
                        match.related_lines = [frame.line]
                    return match
    return None


def _start_method() -> str:
    import multiprocessing

    return multiprocessing.get_start_method(allow_none=True) or "fork"


# ---------------------------------------------------------------------------- devices
@matcher
def meta_device(ctx: Context) -> Match | None:
    """A model still on the meta device: point at what put it there, not at the forward call."""
    m = re.search(r"Tensor on device meta is not on the expected device|on device meta|device type meta",
                  ctx.message)
    if not m:
        return None
    frame = ctx.frames[-1] if ctx.frames else None
    for name in ctx.code.read_at(ctx.line) if ctx.line else []:
        value = ctx.value(name, frame)
        on_meta = (is_tensor(value) and value.is_meta) or (
            is_module(value) and any(p.is_meta for p in value.parameters()))
        if not on_meta:
            continue
        origin = ctx.code.origin(name, ctx.line)
        if origin is None:
            continue
        block = ctx.code.enclosing_with(origin.line, r"device\(|meta")
        line = block.lineno if block is not None else origin.line
        return Match("device-mismatch", 0.9, line=line, related_lines=[ctx.line],
                     facts={"name": name, "device": "meta", "line": line}, detail="meta")
    return None


# ---------------------------------------------------------------------------- tensor facts
@matcher
def many_elements(ctx: Context) -> Match | None:
    """`.item()` or `if tensor:` on a tensor with several elements: name it with its shape."""
    pid = next((p for p in ("non-scalar-item", "ambiguous-bool") if pattern_hits(ctx, p)), None)
    if pid is None:
        return None
    frame = ctx.frames[-1] if ctx.frames else None
    found = first_tensor(ctx, frame, lambda t: t.numel() > 1)
    if found is None:
        return Match(pid, 0.8, line=ctx.line)
    name, value = found
    facts = {"name": name, "shape": str(tuple(value.shape)), "numel": value.numel()}
    return Match(pid, 0.8, line=ctx.line, facts=facts, detail="numel")


@matcher
def non_contiguous_view(ctx: Context) -> Match | None:
    """`.view()` on a transposed/permuted tensor: name it with its shape and strides."""
    if not pattern_hits(ctx, "view-non-contiguous"):
        return None
    frame = ctx.frames[-1] if ctx.frames else None
    for call in ctx.code.calls_on_line(frame.line if frame else ctx.line):
        if call_name(call) == "view" and isinstance(call.func, ast.Attribute):
            name = dotted(call.func.value)
            value = ctx.value(name, frame) if name else None
            if is_tensor(value) and not value.is_contiguous():
                facts = {"name": name, "shape": str(tuple(value.shape)), "stride": str(value.stride())}
                return Match("view-non-contiguous", 0.8, line=ctx.line, facts=facts, detail="strides")
    return None


def _raised_in(exc: BaseException, fragment: str) -> bool:
    """Whether any frame of the traceback runs code from a file whose path contains `fragment`."""
    tb = exc.__traceback__
    while tb is not None:
        if fragment in tb.tb_frame.f_code.co_filename.replace("\\", "/"):
            return True
        tb = tb.tb_next
    return False


@matcher
def optimizer_state_device(ctx: Context) -> Match | None:
    """A device mismatch inside `optimizer.step()`: the optimizer's state, not the model, is elsewhere."""
    if not pattern_hits(ctx, "device-mismatch") or not _raised_in(ctx.exc, "torch/optim/"):
        return None
    facts: dict[str, Any] = {}
    torch = _torch()
    for frame in reversed(ctx.frames):
        for name in ctx.code.read_at(frame.line):
            opt = ctx.value(name.rsplit(".", 1)[0], frame) if name.endswith(".step") else ctx.value(name, frame)
            if isinstance(opt, torch.optim.Optimizer):
                params = [p for g in opt.param_groups for p in g["params"]]
                states = [v for s in opt.state.values() for v in s.values() if is_tensor(v) and v.dim() > 0]
                if params and states:
                    facts.update(param_device=str(params[0].device), state_device=str(states[0].device))
                facts["name"] = name.rsplit(".", 1)[0]
                break
    load = [b for b in ctx.code.statements if isinstance(b, ast.Expr) and isinstance(b.value, ast.Call)
            and call_name(b.value) == "load_state_dict" and dotted(b.value.func.value) == facts.get("name")] \
        if facts.get("name") else []
    line = load[0].lineno if load else ctx.line
    return Match("optimizer-device", 0.9, line=line, related_lines=[ctx.line] if line != ctx.line else [],
                 facts=facts, detail="devices" if "state_device" in facts else "")


@matcher
def view_size(ctx: Context) -> Match | None:
    """`.view`/`.reshape` to a shape the element count doesn't fit (a hard-coded flatten size)."""
    m = re.search(r"shape '(\[[-\d, ]+\])' is invalid for input of size (\d+)", ctx.message)
    if not m:
        return None
    facts: dict[str, Any] = {"expected": m.group(1), "numel": int(m.group(2))}
    frame = ctx.frames[-1] if ctx.frames else None
    for call in ctx.code.calls_on_line(frame.line if frame else ctx.line):
        if call_name(call) in ("view", "reshape") and isinstance(call.func, ast.Attribute):
            name = dotted(call.func.value)
            value = ctx.value(name, frame) if name else None
            if is_tensor(value) and value.numel() == facts["numel"]:
                facts.update(name=name, shape=str(tuple(value.shape)))
                break
    return Match("shape-mismatch", 0.85, line=ctx.line, facts=facts, detail="view")


@matcher
def state_dict_keys(ctx: Context) -> Match | None:
    """Checkpoint keys that don't fit the model: a wrapper's prefix, or counts of what differs."""
    if "Error(s) in loading state_dict" not in ctx.message:
        return None
    missing = re.findall(r'"([^"]+)"', ctx.message.split("Missing key(s) in state_dict:")[-1].split("Unexpected")[0]) \
        if "Missing key(s)" in ctx.message else []
    unexpected = re.findall(r'"([^"]+)"', ctx.message.split("Unexpected key(s) in state_dict:")[-1].split("size mismatch")[0]) \
        if "Unexpected key(s)" in ctx.message else []
    facts: dict[str, Any] = {"missing": len(missing), "unexpected": len(unexpected)}
    detail = "counts" if missing or unexpected else ""
    for prefix in ("module.", "_orig_mod.", "model.", "net."):
        if unexpected and all(k.startswith(prefix) for k in unexpected) and \
                {k[len(prefix):] for k in unexpected} & set(missing):
            facts.update(prefix=prefix, example=unexpected[0])
            detail = "prefix"
            break
    return Match("state-dict-keys", 0.8, line=ctx.line, facts=facts, detail=detail)


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
