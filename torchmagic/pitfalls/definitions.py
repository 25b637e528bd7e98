"""Pitfalls of defining and calling modules: `__init__` without `super().__init__()`, a
misspelt or mis-indented `forward`, calls that do not fit its signature, a parameter
overwritten by a computed tensor, a DataParallel wrapper taken for its model, and the
notebook name of a function or loss rebound to a value.

The traceback ends inside `nn.Module`; the rules take the module from torch's frames and
find the line to change in its class, wherever the user defined it.
"""
from __future__ import annotations

import ast
import difflib
import inspect
import re
from typing import Any

from ..diagnosis import Match
from ..source.values import is_module, is_tensor, torch_module
from ..source.cellcode import call_name, dotted
from .helpers import failing_place, origin_match, pattern_hits
from .registry import Context, matcher
from .training import at, class_source, method_of, named, place_facts, torch_local

# ---------------------------------------------------------------------------------------
# modules: definitions, wrappers, calls

@matcher
def wrapper_attribute(ctx: Context) -> Match | None:
    """A model's own method called on its DataParallel/DDP wrapper, or `.module` read from a
    model that was never wrapped."""
    m = re.search(r"'(\w+)' object has no attribute '(\w+)'", ctx.message)
    if m is None:
        return None
    cls, attr = m.groups()
    torch = torch_module()
    wrappers = (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)
    frame = ctx.innermost
    line, cause = failing_place(ctx)
    for name in frame.code.read_at(frame.line) if frame is not None else []:
        if not name.endswith(f".{attr}"):
            continue
        holder = name[: -len(attr) - 1]
        value = ctx.value(holder, frame)
        if isinstance(value, wrappers) and cls in ("DataParallel", "DistributedDataParallel"):
            inner = value.module
            facts = {"name": holder, "attr": attr, "wrapper": type(value).__name__, "inner": type(inner).__name__}
            detail = "wrapped" if hasattr(inner, attr) else "wrapped_missing"
            return Match("dataparallel-attribute", 0.9, line=line, facts=facts, detail=detail, cause=cause)
        if attr == "module" and is_module(value) and not isinstance(value, wrappers):
            facts = {"name": holder, "cls": type(value).__name__}
            return Match("dataparallel-attribute", 0.9, line=line, facts=facts, detail="not_wrapped", cause=cause)
    return None


def _init_of(ctx: Context, obj: Any) -> tuple[str, ast.ClassDef, ast.FunctionDef] | None:
    source = class_source(ctx, type(obj))
    if source is None:
        return None
    filename, _, node = source
    init = method_of(node, "__init__")
    return (filename, node, init) if init is not None else None


def _calls_super_init(init: ast.FunctionDef) -> ast.Call | None:
    for call in (n for n in ast.walk(init) if isinstance(n, ast.Call)):
        if call_name(call) == "__init__" and isinstance(call.func, ast.Attribute):
            return call
    return None


@matcher
def module_init_not_called(ctx: Context) -> Match | None:
    """An nn.Module subclass whose `__init__` sets attributes before (or without) calling
    `super().__init__()`: the first line of that `__init__`."""
    if not pattern_hits(ctx, "module-init-not-called"):
        return None
    line, cause = failing_place(ctx)
    obj = next((fr.frame.f_locals.get("self") for fr in reversed(ctx.user_frames)
                if is_module(fr.frame.f_locals.get("self"))), None)
    if obj is None:
        m = re.search(r"'(\w+)' object has no attribute", ctx.message)
        obj = next((v for _, v in named(ctx, lambda v: is_module(v) and type(v).__name__ == (m and m.group(1)))),
                   None)
    found = _init_of(ctx, obj) if obj is not None else None
    if found is None:
        return Match("module-init-not-called", 0.9, line=line, cause=cause)
    filename, node, init = found
    facts: dict[str, Any] = {"cls": node.name}
    late = _calls_super_init(init)
    body = [s for s in init.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    first = body[0].lineno if body else init.lineno
    if late is not None:
        facts.update(place_facts(ctx, at(ctx, filename, late.lineno, "__init__"), "super_line"))
    where = at(ctx, filename, first, "__init__")
    facts.update(place_facts(ctx, where, "first"))
    related = [line] if line and line != where[0] else []
    return Match("module-init-not-called", 0.9, line=where[0], related_lines=related, facts=facts,
                 detail="late" if late is not None else "missing", cause=where[1])


@matcher
def forward_missing(ctx: Context) -> Match | None:
    """A module called without a `forward` method: the misspelt or mis-indented definition."""
    if not (pattern_hits(ctx, "forward-missing") or
            isinstance(ctx.exc, NotImplementedError) and torch_local(ctx, "_forward_unimplemented", "self") is not None):
        return None
    line, cause = failing_place(ctx)
    module = torch_local(ctx, "_forward_unimplemented", "self")
    source = class_source(ctx, type(module)) if module is not None else None
    if source is None:
        return Match("forward-missing", 0.9, line=line, cause=cause)
    filename, _, node = source
    facts: dict[str, Any] = {"cls": node.name}
    nested = [f for f in ast.walk(node) if isinstance(f, ast.FunctionDef) and f.name == "forward"]
    methods = [m for m in node.body if isinstance(m, ast.FunctionDef)]
    close = difflib.get_close_matches("forward", [m.name.lower() for m in methods], n=1, cutoff=0.7)
    if nested:
        target, detail = nested[0], "indented"
    elif close:
        target = next(m for m in methods if m.name.lower() == close[0])
        detail = "misspelt"
        facts["name"] = target.name
    else:
        target, detail = node, "absent"
    where = at(ctx, filename, target.lineno, node.name)
    return Match("forward-missing", 0.9, line=where[0], related_lines=[line] if line and line != where[0] else [],
                 facts=facts, detail=detail, cause=where[1])


def _signature(func: Any) -> str:
    try:
        return str(inspect.signature(func))
    except (TypeError, ValueError):
        return "(...)"


def _required_positional(func: Any) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


@matcher
def forward_arguments(ctx: Context) -> Match | None:
    """A module called with arguments its `forward` does not take; for nn.Sequential, the
    block inside it that needs more than one input."""
    if not pattern_hits(ctx, "forward-arguments"):
        return None
    line, cause = failing_place(ctx)
    module = torch_local(ctx, "_call_impl", "self", "torch/nn/modules/module.py")
    if not is_module(module):
        return Match("forward-arguments", 0.85, line=line, cause=cause)
    given = torch_local(ctx, "_call_impl", "args", "torch/nn/modules/module.py")
    keywords = torch_local(ctx, "_call_impl", "kwargs", "torch/nn/modules/module.py")
    facts: dict[str, Any] = {"cls": type(module).__name__, "signature": _signature(module.forward),
                             "given": len(given) if isinstance(given, tuple) else "?",
                             "keywords": ", ".join(f"`{k}`" for k in keywords) if keywords else ""}
    torch = torch_module()
    if isinstance(module, torch.nn.Sequential):
        multi = next((m for m in module if _required_positional(m.forward) > 1), None)
        if multi is not None:
            facts.update(block=type(multi).__name__, block_signature=_signature(multi.forward))
            built = ctx.evidence.built_at(module)
            where = at(ctx, built.filename, built.line, built.function) if built is not None else (line, cause)
            related = [line] if line and line != where[0] else []
            return Match("forward-arguments", 0.9, line=where[0], related_lines=related, facts=facts,
                         detail="sequential", cause=where[1])
    return Match("forward-arguments", 0.9, line=line, facts=facts,
                 detail="keywords" if facts["keywords"] else "signature", cause=cause)


@matcher
def parameter_reassign(ctx: Context) -> Match | None:
    """A plain tensor assigned to a module attribute that holds an nn.Parameter (or a
    submodule): usually in `forward`, overwriting the weight with a value computed from it."""
    m = re.search(r"cannot assign '([\w.]+)' as (parameter|child module) '(\w+)'", ctx.message)
    if m is None:
        return None
    line, cause = failing_place(ctx)
    owner = next((fr.frame.f_locals.get("self") for fr in reversed(ctx.user_frames)
                  if is_module(fr.frame.f_locals.get("self"))), None)
    facts = {"type": m.group(1), "attr": m.group(3), "cls": type(owner).__name__ if owner is not None else "the module",
             "function": ctx.innermost.function if ctx.innermost is not None else ""}
    detail = "parameter" if m.group(2) == "parameter" else "module"
    return Match("parameter-reassign", 0.9, line=line, facts=facts, detail=detail, cause=cause)


# ---------------------------------------------------------------------------------------
# names rebound in a notebook

_BUILTIN_NAMES = set(dir(__import__("builtins")))


@matcher
def name_shadowing(ctx: Context) -> Match | None:
    """A function, class or loss module's name rebound to a value (a tensor, a number): the
    assignment that rebound it. In a loop, the rebinding later in the body is the one that
    the next iteration trips on."""
    m = re.search(r"'([\w.]+)' object is not callable", ctx.message)
    if m is None or not isinstance(ctx.exc, TypeError):
        return None
    frame = ctx.innermost
    if frame is None:
        return None
    code = frame.code
    stmt = code.statement_at(frame.line)
    for call in code.calls_on_line(frame.line):
        name = dotted(call.func)
        if not name or "." in name:
            continue
        value = ctx.value(name, frame)
        if value is None or callable(value) or type(value).__name__ != m.group(1).split(".")[-1]:
            continue
        bindings = [b for b in code.bindings(code.scope_of(stmt)) if b.name == name]
        was_callable = name in _BUILTIN_NAMES or is_tensor(value) or len(bindings) > 1 or \
            any(isinstance(getattr(b.node, "value", None), ast.Call) and b.line < frame.line for b in bindings)
        if not was_callable:
            continue
        facts = {"name": name, "type": type(value).__name__}
        detail = "builtin" if name in _BUILTIN_NAMES else "rebound"
        loops = code.loops_around(stmt) if stmt is not None else []
        later = [b for b in bindings if loops and frame.line < b.line <= (loops[0].end_lineno or b.line)]
        if is_tensor(value) and ctx.record(value) is not None:
            match = origin_match(ctx, "name-shadowing", name, frame.line, 0.9, facts, detail, frame=frame)
            if match is not None:
                return match
        if later:
            where = at(ctx, frame.filename, later[-1].line, frame.function)
            return Match("name-shadowing", 0.9, line=where[0], related_lines=[frame.line], facts=facts,
                         detail=detail, cause=where[1])
        return origin_match(ctx, "name-shadowing", name, frame.line, 0.9, facts, detail, frame=frame)
    if pattern_hits(ctx, "name-shadowing"):
        line, cause = failing_place(ctx)
        return Match("name-shadowing", 0.8, line=line, cause=cause)
    return None
