"""The autograd family's matcher for a second backward through a freed graph: which earlier pass
freed it and which line carried its tensor over."""
from __future__ import annotations

import ast
import re
from typing import Any

from ...diagnosis import Match
from ...source.values import is_module, is_tensor
from ...source.cellcode import CellCode, call_name, dotted, loaded_names
from ...evidence.queries import ancestors, earlier_graph, freed_by, site_step
from ..helpers import earlier_binding, line_text, name_for, place
from ..registry import Context, matcher
from .history import filled_at


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
            or _no_step_between(ctx) or _freed_by_other_backward(ctx, trail[1])
        if match is not None:
            return match
    elif ctx.evidence.recorder is not None and ctx.evidence.recorder.backwards:
        match = _backwarded_loss_in_sum(ctx) or _no_step_between(ctx)
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
            # read before the loop's body binds it: the value of the previous pass
            if first_read <= min(o.line for o in inside if o.name == b.name):
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
        line = (filled_at(ctx, kept) if isinstance(kept, list) else None) or b.line
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


def _no_step_between(ctx: Context) -> Match | None:
    """Two losses that share a graph, backpropagated one after the other with no optimizer
    step between them: both feed the same update (a GAN generator's two losses, two tasks of
    one model), so neither side is to be detached; the line is the first backward, which
    freed the shared graph (one backward of the sum, or `retain_graph=True` there)."""
    recorder = ctx.evidence.recorder
    calls = recorder.backwards
    last = calls[-1]
    freeing = [c for c in calls[:-1] if c.frees and c.subject is not None]
    if not freeing or freeing[-1].site is None or last.subject is None:
        return None
    other = freeing[-1]
    if other.subject is last.subject or other.site == last.site or \
            any(other.generation < generation <= last.generation for _, _, generation in list(recorder.steps)):
        return None
    graph = {id(r) for r in ancestors(other.subject, lambda p: bool(p.grad_fn), limit=5_000)}
    if not any(id(r) in graph for r in ancestors(last.subject, lambda p: bool(p.grad_fn), limit=5_000)
               if r is not last.subject):
        return None
    where = place(ctx, [site_step(other.site)])
    if where is None or where[0] is None:
        return None
    facts = {"name": name_for(ctx, other.subject) or "the first loss", "line": line_text(ctx, where)}
    return Match("backward-twice", 0.95, line=where[0], related_lines=[ctx.line] if ctx.line else [],
                 facts=facts, detail="one_step", cause=where[1])


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
