"""Gradient pitfalls: backward() on several values, requires_grad on integer or computed
tensors, a deepcopy that meets a tensor of an autograd graph."""
from __future__ import annotations

import ast
import inspect
from typing import Any, Iterator

from ..diagnosis import Match
from ..evidence import Site
from ..evidence.queries import dtype_origin, site_step, trails
from ..diagnose.locate import code_of
from ..source.values import is_module, is_tensor
from ..source.cellcode import CellCode, call_name, dotted
from .helpers import failing_place, line_text, name_for, object_site, origin_match, pattern_hits, place
from .registry import Context, matcher

_OPERATORS = {
    "__add__": "+", "__radd__": "+", "__sub__": "-", "__rsub__": "-", "__mul__": "*", "__rmul__": "*",
    "__truediv__": "/", "__rtruediv__": "/", "__floordiv__": "//", "__matmul__": "@", "__pow__": "**",
    "__neg__": "-", "__getitem__": "[...]", "__gt__": ">", "__lt__": "<", "__ge__": ">=", "__le__": "<=",
    "__eq__": "==", "__ne__": "!=", "__and__": "&", "__or__": "|", "__invert__": "~",
    "add": "+", "sub": "-", "mul": "*", "div": "/", "true_divide": "/", "matmul": "@", "neg": "-",
}

# loss functions that return one value per element when asked for reduction='none'
LOSS_OPS = {
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "cosine_embedding_loss", "triplet_margin_loss", "ctc_loss",
}


def unreduced_loss(ctx: Context, record: Any) -> tuple[int | None, Site | None] | None:
    """Where a tensor of several values was asked for as one: the loss that made it per element,
    built with `reduction='none'` (the line that built the loss module, or the functional call
    that passed it); None when no such loss made it."""
    for r, trail in trails(record, lambda p: _numel(p.shape) > 1, limit=2_000):
        if r.op not in LOSS_OPS or r.site is None:
            continue
        if any(_numel(other.shape) > 1 for step in trail[:-1] for other in step.inputs if other not in trail):
            return None  # weighted or masked per element on the way: the values are wanted, reduce them
        code = code_of(r.site.filename)
        for call in code.calls_on_line(r.site.line):
            name = dotted(call.func)
            value = _value_at(ctx, name, r.site) if name else None
            if is_module(value) and getattr(value, "reduction", None) == "none":
                built = ctx.evidence.built_at(value) or object_site(ctx, value)
                if built is not None:
                    return place(ctx, [site_step(built)])
            if any(k.arg == "reduction" and isinstance(k.value, ast.Constant) and k.value.value == "none"
                   for k in call.keywords):
                return place(ctx, [r])
    return None


def _value_at(ctx: Context, name: str, site: Site) -> Any:
    """A name's value as the code at `site` sees it: in a frame of the failure running that
    code, else in the namespace."""
    frame = next((f for f in reversed(ctx.user_frames) if f.filename == site.filename), None)
    return ctx.value(name, frame)


def op_label(op: str | None) -> str:
    """How a detail sentence names an operation of the record: `+` for `__add__`, else its name."""
    if not op:
        return "an operation"
    return _OPERATORS.get(op, op)


def torch_frames(exc: BaseException) -> Iterator[Any]:
    """The frames of the traceback, outermost first (torch's own ones too)."""
    tb = exc.__traceback__
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def _numel(shape: tuple) -> int:
    out = 1
    for d in shape:
        out *= int(d)
    return out


# ---------------------------------------------------------------------------- non-scalar backward
@matcher
def non_scalar_backward(ctx: Context) -> Match | None:
    """backward() (or autograd.grad) on a tensor of several values: the failing call is where to
    reduce; the run's record says what made the tensor (a loss with reduction='none')."""
    if not pattern_hits(ctx, "non-scalar-backward"):
        return None
    line, cause = failing_place(ctx)
    recorder = ctx.evidence.recorder
    calls = recorder.backwards if recorder is not None else []
    record = calls[-1].subject if calls else None
    if record is None or _numel(record.shape) <= 1:
        return Match("non-scalar-backward", 0.9, line=line, cause=cause)
    facts: dict[str, Any] = {"name": name_for(ctx, record) or "the output", "shape": str(tuple(record.shape)),
                             "numel": _numel(record.shape), "op": op_label(record.op)}
    asked = unreduced_loss(ctx, record)
    if asked is not None and asked[0] is not None:
        facts["line"] = line_text(ctx, asked)
        related = [line] if line is not None and line != asked[0] else []
        return Match("non-scalar-backward", 0.92, line=asked[0], related_lines=related, facts=facts,
                     detail="per_element", cause=asked[1])
    made = place(ctx, [record]) if record.op is not None else None
    if made is None:
        return Match("non-scalar-backward", 0.9, line=line, facts=facts, detail="values", cause=cause)
    facts["line"] = line_text(ctx, made)
    detail = "per_element" if record.op in LOSS_OPS else "made"
    if _returned_by_function(record, calls[-1].site):
        # a loss function (a helper of an earlier cell, a function of the cell) hands back
        # several values: the function is what should reduce them, not each caller
        related = [line] if line is not None and line != made[0] else []
        return Match("non-scalar-backward", 0.9, line=made[0], related_lines=related, facts=facts, detail=detail,
                     cause=made[1])
    related = [made[0]] if made[0] is not None and made[0] != line else []
    return Match("non-scalar-backward", 0.9, line=line, related_lines=related, facts=facts, detail=detail,
                 cause=cause)


def _returned_by_function(record: Any, backward_site: Site | None) -> bool:
    """Whether the tensor given to backward() was made inside a function of the user's code
    other than the code that calls backward(): a loss helper that returned it."""
    made = record.site
    if made is None or backward_site is None or made.function in ("<module>", backward_site.function):
        return False
    return made.function not in ("forward", "__call__")


# ---------------------------------------------------------------------------- requires_grad flags
def flag_receivers(code: CellCode, line: int | None) -> list[str]:
    """Names whose `requires_grad` the statement on `line` sets: `x.requires_grad = ...`,
    `x.requires_grad_()`, `setattr(x, "requires_grad", ...)`."""
    stmt = code.statement_at(line)
    if stmt is None:
        return []
    found: list[str] = []
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
            if isinstance(target, ast.Attribute) and target.attr == "requires_grad" and dotted(target.value):
                found.append(dotted(target.value))
    for call in code.calls_on_line(line):
        if call_name(call) == "requires_grad_" and isinstance(call.func, ast.Attribute) and dotted(call.func.value):
            found.append(dotted(call.func.value))
        elif call_name(call) == "setattr" and len(call.args) >= 2 and isinstance(call.args[1], ast.Constant) \
                and call.args[1].value == "requires_grad" and dotted(call.args[0]):
            found.append(dotted(call.args[0]))
    return found


@matcher
def requires_grad_dtype(ctx: Context) -> Match | None:
    """requires_grad on an integer tensor: where the run gave the tensor its integer dtype."""
    if not pattern_hits(ctx, "requires-grad-dtype"):
        return None
    line, cause = failing_place(ctx)
    frame = ctx.innermost
    # nn.Parameter(int_tensor): the tensor is the `data` of Parameter.__new__
    data = next((f.f_locals.get("data") for f in torch_frames(ctx.exc)
                 if f.f_code.co_name == "__new__" and f.f_code.co_filename.replace("\\", "/").endswith(
                     "torch/nn/parameter.py")), None)
    record = ctx.record(data) if is_tensor(data) else None
    if record is not None:
        where = place(ctx, dtype_origin(record), frame)
        if where is not None:
            facts = {"name": name_for(ctx, record) or "the tensor", "dtype": _dtype(record.dtype),
                     "line": line_text(ctx, where)}
            related = [line] if line is not None and line != where[0] else []
            return Match("requires-grad-dtype", 0.9, line=where[0], related_lines=related, facts=facts,
                         detail="made", cause=where[1])
    for name in flag_receivers(frame.code, frame.line) if frame is not None else []:
        value = ctx.value(name, frame)
        if is_tensor(value) and not (value.is_floating_point() or value.is_complex()):
            facts = {"name": name, "dtype": _dtype(value.dtype)}
            match = origin_match(ctx, "requires-grad-dtype", name, frame.line, 0.9, facts, "made", frame=frame,
                                 query=dtype_origin)
            if match is not None:
                match.facts["line"] = line_text(ctx, (match.line, match.cause))
                return match
    return Match("requires-grad-dtype", 0.9, line=line, facts={"line": line_text(ctx, (line, cause))},
                 detail="factory", cause=cause)


def _dtype(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


@matcher
def requires_grad_non_leaf(ctx: Context) -> Match | None:
    """requires_grad set on a computed tensor: the line that computed it is where to detach."""
    if not pattern_hits(ctx, "requires-grad-non-leaf"):
        return None
    line, cause = failing_place(ctx)
    frame = ctx.innermost
    for name in flag_receivers(frame.code, frame.line) if frame is not None else []:
        value = ctx.value(name, frame)
        if not (is_tensor(value) and value.grad_fn is not None):
            continue
        record = ctx.record(value)
        op = op_label(record.op) if record is not None and record.op else type(value.grad_fn).__name__
        detail = "frozen" if _turns_off(frame.code, frame.line) else "computed"
        match = origin_match(ctx, "requires-grad-non-leaf", name, frame.line, 0.9, {"name": name, "op": op},
                             detail, frame=frame)
        if match is not None:
            match.facts["line"] = line_text(ctx, (match.line, match.cause))
            return match
    return Match("requires-grad-non-leaf", 0.85, line=line, cause=cause)


def _turns_off(code: CellCode, line: int | None) -> bool:
    """Whether the statement on `line` sets requires_grad to False (rather than on)."""
    stmt = code.statement_at(line)
    if isinstance(stmt, ast.Assign):
        return isinstance(stmt.value, ast.Constant) and stmt.value.value is False
    for call in code.calls_on_line(line):
        if call_name(call) == "requires_grad_":
            flag = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "requires_grad"),
                                                       None)
            return isinstance(flag, ast.Constant) and flag.value is False
    return False


# ---------------------------------------------------------------------------- deepcopy
@matcher
def deepcopy_nonleaf(ctx: Context) -> Match | None:
    """deepcopy of a graph tensor: the tensor the copy met (read from the copy's own frames),
    who holds it, and for a module's attribute, the line of its class that stores it there."""
    if not pattern_hits(ctx, "deepcopy-nonleaf"):
        return None
    line, cause = failing_place(ctx)
    root = tensor = None
    for f in torch_frames(ctx.exc):
        filename = f.f_code.co_filename.replace("\\", "/")
        if root is None and f.f_code.co_name == "deepcopy" and filename.endswith("/copy.py"):
            root = f.f_locals.get("x")
        if f.f_code.co_name == "__deepcopy__" and is_tensor(f.f_locals.get("self")):
            tensor = f.f_locals["self"]
    if tensor is None:
        return Match("deepcopy-nonleaf", 0.85, line=line, cause=cause)
    facts: dict[str, Any] = {"grad_fn": type(tensor.grad_fn).__name__ if tensor.grad_fn is not None else "?",
                             "shape": str(tuple(tensor.shape))}
    held = _module_attribute(root, tensor) if is_module(root) else None
    if held is not None:
        owner, module, attr = held
        stored = _stored_at(module, attr)
        if stored is not None:
            site, value = stored
            where = place(ctx, [site_step(site)])
            if where is not None:
                root_name = _copied_name(ctx) or type(root).__name__
                facts.update(owner=f"{root_name}{owner}", attr=attr, value=value, line=line_text(ctx, where))
                related = [line] if line is not None and line != where[0] else []
                return Match("deepcopy-nonleaf", 0.9, line=where[0], related_lines=related, facts=facts,
                             detail="attribute", cause=where[1])
    facts["name"] = name_for(ctx, ctx.record(tensor)) if ctx.record(tensor) is not None else ""
    facts["name"] = facts["name"] or _copied_name(ctx) or "the copied object"
    return Match("deepcopy-nonleaf", 0.9, line=line, facts=facts, detail="tensor", cause=cause)


def _copied_name(ctx: Context) -> str | None:
    """The argument of the deepcopy call on the failing line (`model` in `deepcopy(model)`)."""
    frame = ctx.innermost
    if frame is None:
        return None
    for call in frame.code.calls_on_line(frame.line):
        if call_name(call) == "deepcopy" and call.args and dotted(call.args[0]):
            return dotted(call.args[0])
    return None


def _module_attribute(root: Any, tensor: Any) -> tuple[str, Any, str] | None:
    """(`.path` of the submodule, the submodule, attribute) of the module attribute of `root`
    (or of one of its submodules) that holds `tensor`, directly or in a list, tuple or dict."""
    for path, module in root.named_modules():
        for attr, value in vars(module).items():
            values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) \
                else (value,)
            if any(v is tensor for v in values):
                return (f".{path}" if path else ""), module, attr
    return None


def _stored_at(module: Any, attr: str) -> tuple[Site, str] | None:
    """Where the module's class stores `self.<attr>` outside `__init__` (the last such line), and
    the text of the value it stores."""
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch."):
            break
        filename = _class_file(cls)
        code = code_of(filename) if filename else None
        if code is None or code.tree is None:
            continue
        klass = next((c for c in code.classes() if c.name == cls.__name__), None)
        if klass is None:
            continue
        found = None
        for method in (m for m in klass.body if isinstance(m, ast.FunctionDef) and m.name != "__init__"):
            for node in ast.walk(method):
                if isinstance(node, ast.Assign) and any(dotted(t) == f"self.{attr}" for t in node.targets):
                    if found is None or node.lineno > found[0].line:
                        found = (Site(filename, node.lineno, method.name), _text(code, node.value))
        if found is not None:
            return found
    return None


def _class_file(cls: type) -> str:
    """The file that defines a class: a cell's for a class defined in a notebook (read from
    its methods' code, which inspect cannot find for cells)."""
    for value in vars(cls).values():
        code = getattr(value, "__code__", None)
        if code is not None:
            return code.co_filename
    try:
        return inspect.getsourcefile(cls) or ""
    except (TypeError, OSError):
        return ""


def _text(code: CellCode, node: ast.AST) -> str:
    text = ast.get_source_segment(code.source, node) or "value"
    text = " ".join(text.split())
    return text if len(text) <= 40 else "value"
