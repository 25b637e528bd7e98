"""Tensor pitfalls: building tensors from Python data, cat and stack, dimensions that do not
exist, scalars used as sequences, masks and integer tensors in float operations, in-place
broadcasting, and arguments of the wrong kind (NumPy arrays, tuples, float or list sizes)."""
from __future__ import annotations

import ast
import re
from typing import Any

from ..diagnosis import Match
from ..evidence.queries import dtype_origin, origin, shape_origin
from ..diagnose.locate import CellFrame
from ..source.values import is_tensor, torch_module
from ..source.cellcode import base_name, call_name, dotted
from .helpers import failing_place, first_tensor, line_text, one_maker, origin_match, pattern_hits, place
from .registry import Context, matcher


# ------------------------------------------------------------------------------ reading the line
def _frame(ctx: Context) -> CellFrame | None:
    return ctx.innermost


def _calls(frame: CellFrame | None, names: set[str]) -> list[ast.Call]:
    """Calls on the frame's line to one of `names` (the called name's last part), innermost first."""
    if frame is None:
        return []
    found = [c for c in frame.code.calls_on_line(frame.line) if call_name(c) in names]
    return sorted(found, key=lambda c: (-c.lineno, -c.col_offset))


def _value(ctx: Context, frame: CellFrame | None, node: ast.AST | None, depth: int = 0) -> Any:
    """The value of a simple expression of the user's code, read without running anything of
    theirs: names, constants, `.shape` of a tensor, subscripts of containers, arithmetic on
    numbers. None when it takes more than that."""
    if node is None or depth > 8:
        return None
    nxt = depth + 1
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Attribute) and node.attr in ("shape", "ndim"):
        base = _value(ctx, frame, node.value, nxt)
        return getattr(base, node.attr) if is_tensor(base) else None
    name = dotted(node)
    if name is not None:
        return ctx.value(name, frame)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(ctx, frame, e, nxt) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _value(ctx, frame, node.operand, nxt)
        return -v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    if isinstance(node, ast.BinOp):
        a, b = _value(ctx, frame, node.left, nxt), _value(ctx, frame, node.right, nxt)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
            return None
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
               ast.Div: lambda: a / b if b else None, ast.FloorDiv: lambda: a // b if b else None}
        op = ops.get(type(node.op))
        return op() if op is not None else None
    if isinstance(node, ast.Subscript):
        base = _value(ctx, frame, node.value, nxt)
        if not isinstance(base, (dict, list, tuple, str)) and type(base).__name__ != "Size":
            return None
        key: Any
        if isinstance(node.slice, ast.Slice):
            parts = [_value(ctx, frame, p, nxt) if p is not None else None
                     for p in (node.slice.lower, node.slice.upper, node.slice.step)]
            key = slice(*parts)
        else:
            key = _value(ctx, frame, node.slice, nxt)
        try:
            return base[key]
        except Exception:
            return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" and node.args:
        v = _value(ctx, frame, node.args[0], nxt)
        return len(v) if isinstance(v, (list, tuple, dict, str)) else None
    return None


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if is_tensor(value) else ""


def _dtype(value: Any) -> str:
    return str(value.dtype).replace("torch.", "") if is_tensor(value) else ""


def _first_arg(call: ast.Call, keyword: str = "") -> ast.AST | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == keyword), None) if keyword else None


def _here(ctx: Context, score: float, facts: dict | None = None, detail: str = "", pid: str = "",
          related: list[int] | None = None) -> Match:
    """A match on the failing line (the innermost line of the user's code)."""
    line, cause = failing_place(ctx)
    return Match(pid, score, line=line, related_lines=[r for r in related or [] if r and r != line],
                 facts=facts or {}, detail=detail, cause=cause)


def _code_origin(frame: CellFrame | None, name: str | None, line: int | None) -> int | None:
    """The line of the frame's code that last assigned `name` before `line`."""
    if frame is None or not name or line is None:
        return None
    made = frame.code.origin(name, line)
    return made.line if made is not None else None


def _holder(ctx: Context, value: Any) -> str:
    """The variable of the failing frames (innermost first) or of the namespace that holds
    `value` now; '' for a temporary."""
    for frame in reversed(ctx.user_frames):
        for name, held in list(frame.frame.f_locals.items()):
            if held is value and not name.startswith("_"):
                return name
    return next((n for n, held in list(ctx.namespace.items()) if held is value and not n.startswith("_")), "")


def _in_cell(frame: CellFrame | None) -> bool:
    return frame is not None and frame.in_cell


# ------------------------------------------------------------------------------ building tensors
_BUILDERS = {"tensor", "Tensor", "FloatTensor", "LongTensor", "IntTensor", "DoubleTensor", "BoolTensor",
             "as_tensor", "from_numpy", "asarray", "array"}
_RAGGED = re.compile(r"expected sequence of length (\d+) at dim (\d+) \(got (\d+)\)")


@matcher
def ragged_nested_list(ctx: Context) -> Match | None:
    """`torch.tensor(rows)` on rows of different lengths: name the rows and their lengths."""
    m = _RAGGED.search(ctx.message)
    if not m:
        return None
    expected, dim, got = (int(g) for g in m.groups())
    facts: dict[str, Any] = {"expected": expected, "dim": dim, "got": got}
    frame = _frame(ctx)
    for call in _calls(frame, _BUILDERS):
        arg = _first_arg(call, "data")
        rows = _value(ctx, frame, arg)
        if isinstance(rows, (list, tuple)) and rows:
            facts["name"] = base_name(arg) or "the data"
            lengths = _lengths_at(rows, dim)
            if lengths:
                facts.update(shortest=min(lengths), longest=max(lengths), count=len(lengths))
            break
    return _here(ctx, 0.9, facts, "lengths" if "shortest" in facts else "", "ragged-nested-list")


def _lengths_at(rows: Any, dim: int) -> list[int]:
    """The lengths of the sequences that make up dimension `dim` of nested lists."""
    level = [rows]
    for _ in range(dim):
        level = [x for seq in level if isinstance(seq, (list, tuple)) for x in seq]
    return [len(x) for x in level if hasattr(x, "__len__") and not isinstance(x, (str, bytes))]


@matcher
def numpy_object_array(ctx: Context) -> Match | None:
    """A NumPy array of dtype object (a column of arrays, mixed values) given to torch."""
    if not pattern_hits(ctx, "numpy-object-array"):
        return None
    frame = _frame(ctx)
    facts: dict[str, Any] = {}
    detail = ""
    for call in _calls(frame, _BUILDERS):
        arg = _first_arg(call, "data")
        array = _value(ctx, frame, arg)
        if type(array).__module__ == "numpy" and getattr(getattr(array, "dtype", None), "kind", "") == "O":
            facts.update(name=base_name(arg) or "the array", shape=str(tuple(array.shape)))
            first = next(iter(array.flat), None) if array.size else None
            if first is not None:
                kind = type(first)
                facts["kind"] = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
                inner = getattr(first, "shape", None)
                facts["inner"] = str(tuple(inner)) if inner is not None else repr(first)[:30]
                detail = "arrays" if inner is not None else "items"
            # the values went wrong where the array was built (a missing value, rows of
            # different lengths): that line, when the cell built it earlier
            # (an array of arrays is fixed where it is converted: `np.stack`)
            made = _code_origin(frame, base_name(arg), frame.line) \
                if frame is not None and frame.in_cell and detail == "items" else None
            if made is not None and made < frame.line:
                return Match("numpy-object-array", 0.9, line=made, related_lines=[frame.line], facts=facts,
                             detail=detail)
            break
    return _here(ctx, 0.9, facts, detail, "numpy-object-array")


@matcher
def tensor_from_tensor_list(ctx: Context) -> Match | None:
    """`torch.tensor(list_of_tensors)`: the list needs torch.stack, not torch.tensor."""
    if "only one element tensors can be converted to Python scalars" not in ctx.message:
        return None
    frame = _frame(ctx)
    for call in _calls(frame, _BUILDERS - {"from_numpy", "array", "asarray"}):
        arg = _first_arg(call, "data")
        items = _value(ctx, frame, arg)
        if isinstance(items, (list, tuple)) and any(is_tensor(t) and t.numel() > 1 for t in items):
            first = next(t for t in items if is_tensor(t))
            facts = {"name": base_name(arg) or "the list", "count": len(items), "shape": _shape(first)}
            return _here(ctx, 0.9, facts, "items", "tensor-from-tensor-list")
    return None


# ------------------------------------------------------------------------------ cat and stack
_JOINS = {"cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack", "row_stack"}
_CAT_SIZES = re.compile(r"Sizes of tensors must match except in dimension (\d+)\. "
                        r"(?:Expected size (\d+) but got size (\d+) for tensor number (\d+)|Got (\d+) and (\d+))")


def _torch_call(ctx: Context, names: set[str] | None) -> tuple[tuple, dict, Any] | None:
    """The arguments the failing torch function got, as the torch function mode of the
    diagnosed run saw them (temporaries such as `torch.cat([up(x), skip])` included): the
    innermost `__torch_function__` frame of the traceback (for one of `names`, if given),
    as (args, kwargs, the function)."""
    found = None
    tb = ctx.exc.__traceback__
    while tb is not None:
        local = tb.tb_frame.f_locals
        func = local.get("func")
        if tb.tb_frame.f_code.co_name == "__torch_function__" and isinstance(local.get("args"), tuple) and \
                (names is None or getattr(func, "__name__", None) in names):
            found = (local["args"], dict(local.get("kwargs") or {}), func)
        tb = tb.tb_next
    return found


def _joined(ctx: Context, frame: CellFrame | None) -> tuple[ast.Call, ast.AST | None, Any, int] | None:
    """The cat/stack call on the failing line, its sequence argument, the values in it and the
    dimension it joins along (from the call torch saw, else read from the line)."""
    for call in _calls(frame, _JOINS):
        arg = _first_arg(call, "tensors")
        seen = _torch_call(ctx, {call_name(call)})
        if seen is not None:
            args, kwargs, _ = seen
            seq = args[0] if args else kwargs.get("tensors")
            dim = args[1] if len(args) > 1 else kwargs.get("dim", kwargs.get("axis", 0))
        else:
            seq = _value(ctx, frame, arg)
            dim_node = call.args[1] if len(call.args) > 1 else next(
                (k.value for k in call.keywords if k.arg in ("dim", "axis")), None)
            dim = _value(ctx, frame, dim_node) if dim_node is not None else 0
        return call, arg, list(seq) if isinstance(seq, (list, tuple)) else seq, dim if isinstance(dim, int) else 0
    return None


def _names_in(arg: ast.AST | None, count: int) -> list[str]:
    """How the code writes each element of the sequence argument: the elements of a literal
    list (`[u, x.flatten(1)]`), else `parts[i]` for a sequence held by a name."""
    if isinstance(arg, (ast.List, ast.Tuple)):
        return [text if len(text := ast.unparse(e)) <= 40 else text[:37] + "..." for e in arg.elts]
    name = dotted(arg) if arg is not None else None
    return [f"{name}[{i}]" for i in range(count)] if name else [""] * count


@matcher
def cat_sizes(ctx: Context) -> Match | None:
    """torch.cat on tensors whose other dimensions differ. When they would fit along another
    dimension, the dim is wrong; otherwise the evidence says where the differing size was
    made (for a U-Net skip connection: the input whose size does not halve evenly)."""
    m = _CAT_SIZES.search(ctx.message)
    if not m:
        return None
    frame = _frame(ctx)
    found = _joined(ctx, frame)
    if found is None or not isinstance(found[2], list):
        return _here(ctx, 0.8, pid="cat-size-mismatch")
    call, arg, tensors, dim = found
    tensors_only = [t for t in tensors if is_tensor(t)]
    if len(tensors_only) < 2 or len({t.dim() for t in tensors_only}) != 1:
        return _here(ctx, 0.8, pid="cat-size-mismatch")
    ndim = tensors_only[0].dim()
    dim = dim % ndim if ndim else 0
    names = _names_in(arg, len(tensors))
    differ = [k for k in range(ndim) if k != dim and len({t.shape[k] for t in tensors_only}) > 1]
    shapes = ", ".join(str(tuple(t.shape)) for t in tensors_only[:4])
    facts: dict[str, Any] = {"shapes": shapes, "dim": dim, "differ": ", ".join(map(str, differ))}
    if not differ:
        return _here(ctx, 0.8, facts, pid="cat-size-mismatch")
    fits = [k for k in range(ndim) if all(t.shape[j] == tensors_only[0].shape[j] for t in tensors_only
                                          for j in range(ndim) if j != k)]
    if fits and dim not in fits:
        facts["fits"] = fits[0]
        return _here(ctx, 0.9, facts, "wrong_dim", "cat-wrong-dim")
    # follow each tensor back while the differing sizes stay as they are: the longest way
    # back ends where the size entered (an input of an odd size, a layer that changed it)
    best: tuple[int, list, int] | None = None
    wrong = int(m.group(4)) if m.group(4) else len(tensors_only) - 1
    same = one_maker(ctx, tensors_only)
    if same is not None:  # all made on one line, in a loop: that line gave them their sizes
        best = (1, [same], wrong)
    for i, t in enumerate(tensors_only if same is None else []):
        record = ctx.record(t)
        if record is None:
            continue
        sizes = {k: t.shape[k] for k in differ}
        trail = origin(record, lambda r: len(r.shape) == ndim and all(r.shape[k] == s for k, s in sizes.items()))
        key = (len(trail), i == wrong)
        if best is None or key > (best[0], best[2] == wrong):
            best = (len(trail), trail, i)
    if best is not None:
        where = place(ctx, best[1], frame)
        if where is not None:
            i = best[2]
            facts.update(name=names[i] if i < len(names) and names[i] else f"tensor {i}",
                         shape=str(tuple(tensors_only[i].shape)), where=line_text(ctx, where))
            here = failing_place(ctx)[0]
            return Match("cat-size-mismatch", 0.9, line=where[0], related_lines=[here] if here != where[0] else [],
                         facts=facts, detail="made", cause=where[1])
    return _here(ctx, 0.85, facts, "shapes", "cat-size-mismatch")


_STACK_SIZES = re.compile(r"stack expects each tensor to be equal size, but got \[[^\]]*\] at entry (\d+)")


@matcher
def stack_sizes(ctx: Context) -> Match | None:
    """torch.stack of tensors of different sizes that one line made, turn by turn in a loop:
    that line gave each its own size. Not mine otherwise (the plain shape-mismatch entry)."""
    if not _STACK_SIZES.search(ctx.message):
        return None
    found = _joined(ctx, _frame(ctx))
    if found is None or not isinstance(found[2], list):
        return None
    tensors = [t for t in found[2] if is_tensor(t)]
    same = one_maker(ctx, tensors)
    where = place(ctx, [same], _frame(ctx)) if same is not None else None
    if where is None:
        return None
    here = failing_place(ctx)[0]
    facts = {"shapes": ", ".join(str(tuple(t.shape)) for t in tensors[:4]), "where": line_text(ctx, where)}
    return Match("shape-mismatch", 0.9, line=where[0], related_lines=[here] if here != where[0] else [],
                 facts=facts, detail="loop", cause=where[1])


_CAT_RANK = re.compile(r"Tensors must have same number of dimensions: got (\d+) and (\d+)")


@matcher
def cat_rank(ctx: Context) -> Match | None:
    """torch.cat of tensors with different numbers of dimensions: the one with extra size-1
    dimensions (pooled features not flattened) or the one missing a dimension, where it got
    that shape."""
    if not _CAT_RANK.search(ctx.message):
        return None
    frame = _frame(ctx)
    found = _joined(ctx, frame)
    if found is None or not isinstance(found[2], list):
        return _here(ctx, 0.8, pid="cat-rank-mismatch")
    _, arg, values, _ = found
    names = _names_in(arg, len(values))
    tensors = [(names[i] if i < len(names) else "", t) for i, t in enumerate(values) if is_tensor(t)]
    ranks = sorted({t.dim() for _, t in tensors})
    if len(ranks) < 2:
        return _here(ctx, 0.8, pid="cat-rank-mismatch")
    counts = {r: sum(t.dim() == r for _, t in tensors) for r in ranks}
    high, low = ranks[-1], ranks[0]
    squeezable = [(n, t) for n, t in tensors if t.dim() == high and
                  sum(s != 1 for s in t.shape) <= low]
    if squeezable:
        name, odd = squeezable[0]
        detail = "extra"
    else:
        # the rarer rank is the odd one out; with one of each, the one missing a dimension
        rare = min(ranks, key=lambda r: (counts[r], r))
        name, odd = next((n, t) for n, t in tensors if t.dim() == rare)
        detail = "missing"
    other = next(t for _, t in tensors if t.dim() != odd.dim())
    facts = {"name": name or "a tensor", "shape": _shape(odd), "ndim": odd.dim(), "other_shape": _shape(other),
             "other_ndim": other.dim()}
    line = failing_place(ctx)[0]
    record = ctx.record(odd)
    if detail == "extra" and record is not None:
        # pooled features keep their (1, 1): flatten them where they got that shape
        where = place(ctx, shape_origin(record), frame)
        if where is not None:
            return Match("cat-rank-mismatch", 0.9, line=where[0], related_lines=[line] if line != where[0] else [],
                         facts=facts, detail=detail, cause=where[1])
    if detail == "extra" and name.isidentifier() and frame is not None:
        match = origin_match(ctx, "cat-rank-mismatch", name, frame.line, 0.9, facts, detail, frame=frame)
        if match is not None:
            return match
    # a missing dimension is added where the tensors are joined (`x[:, None]`)
    return _here(ctx, 0.9, facts, detail, "cat-rank-mismatch")


@matcher
def cat_zero_dim(ctx: Context) -> Match | None:
    """torch.cat of 0-d tensors (losses, scores): they need torch.stack."""
    if not pattern_hits(ctx, "cat-zero-dim"):
        return None
    found = _joined(ctx, _frame(ctx))
    facts: dict[str, Any] = {}
    if found is not None and isinstance(found[2], list):
        facts.update(name=base_name(found[1]) if found[1] is not None else "", count=len(found[2]))
    return _here(ctx, 0.9, facts, "count" if facts.get("name") else "", "cat-zero-dim")


@matcher
def stack_empty(ctx: Context) -> Match | None:
    """torch.stack/cat of an empty list: the list was never filled (a filter that kept nothing,
    a glob that found no files)."""
    if not pattern_hits(ctx, "stack-empty-list"):
        return None
    frame = _frame(ctx)
    found = _joined(ctx, frame)
    name = base_name(found[1]) if found is not None and found[1] is not None else None
    facts = {"name": name} if name else {}
    made = _code_origin(frame, name, frame.line if frame else None) if _in_cell(frame) else None
    if made is not None:
        facts["made"] = made
    return _here(ctx, 0.9, facts, "made" if made else ("name" if name else ""), "stack-empty-list",
                 related=[made] if made else [])


@matcher
def stack_single_tensor(ctx: Context) -> Match | None:
    """torch.stack/cat given one tensor instead of a sequence of them."""
    if not pattern_hits(ctx, "stack-single-tensor"):
        return None
    found = _joined(ctx, _frame(ctx))
    facts: dict[str, Any] = {}
    if found is not None and is_tensor(found[2]):
        facts.update(name=base_name(found[1]) or "the argument", shape=_shape(found[2]),
                     func=call_name(found[0]))
    return _here(ctx, 0.9, facts, "tensor" if facts else "", "stack-single-tensor")


_NOT_TENSOR_ITEM = re.compile(r"expected Tensor as element (\d+) in argument (\d+), but got ([\w.]+)")


@matcher
def stack_non_tensor_items(ctx: Context) -> Match | None:
    """torch.stack/cat of Python lists or NumPy arrays rather than tensors."""
    m = _NOT_TENSOR_ITEM.search(ctx.message)
    if not m:
        return None
    found = _joined(ctx, _frame(ctx))
    facts: dict[str, Any] = {"index": int(m.group(1)), "kind": m.group(3)}
    if found is not None and found[1] is not None:
        facts.update(name=base_name(found[1]) or "the sequence", func=call_name(found[0]))
    return _here(ctx, 0.9, facts, "items" if "name" in facts else "", "stack-non-tensor-items")


# ------------------------------------------------------------------------------ dimensions
_DIM_RANGE = re.compile(r"Dimension out of range \(expected to be in range of \[(-?\d+), (-?\d+)\], but got (-?\d+)\)")


@matcher
def dim_out_of_range(ctx: Context) -> Match | None:
    """A dimension index past the tensor's last dimension: name the tensor and its shape, and
    where its shape lost the dimension when the run saw that."""
    m = _DIM_RANGE.search(ctx.message)
    if not m:
        return None
    lo, hi, asked = (int(g) for g in m.groups())
    ndim = hi + 1
    facts: dict[str, Any] = {"dim": asked, "ndim": ndim, "last": hi}
    frame = _frame(ctx)
    fits = (lambda t: is_tensor(t) and (t.dim() == ndim or (ndim == 1 and t.dim() == 0)))
    seen = _torch_call(ctx, None)
    value = next((t for t in [*seen[0], *seen[1].values()] if fits(t)), None) if seen is not None else None
    if value is not None:
        name = _holder(ctx, value)
        facts["func"] = getattr(seen[2], "__name__", "")
    else:
        found = first_tensor(ctx, frame, fits)
        if found is None:
            return _here(ctx, 0.85, facts, "range", "dim-out-of-range")
        name, value = found
    facts.update(name=name, shape=_shape(value))
    record = ctx.record(value)
    if record is not None:
        trail = shape_origin(record)
        end = trail[-1]
        before = end.inputs[0].shape if getattr(end, "inputs", None) else None
        if end.op in ("squeeze", "squeeze_") and before is not None and len(before) > len(end.shape):
            where = place(ctx, trail, frame)
            if where is not None and where[0] != failing_place(ctx)[0]:
                facts["where"] = line_text(ctx, where)
                return Match("dim-out-of-range", 0.9, line=where[0], related_lines=[failing_place(ctx)[0]],
                             facts=facts, detail="squeezed", cause=where[1])
    return _here(ctx, 0.9, facts, "tensor" if name else ("input" if facts.get("func") else "range"),
                 "dim-out-of-range")


_NEGATIVE = re.compile(r"Trying to create tensor with negative dimension (-?\d+): \[([-\d, ]*)\]")


@matcher
def negative_dimension(ctx: Context) -> Match | None:
    """A size that is negative (a -1 placeholder, a subtraction gone below zero): the line that
    set the value, when a name or a config entry carries it to the call."""
    m = _NEGATIVE.search(ctx.message)
    if not m and "Dimension size must be non-negative" not in ctx.message:
        return None
    facts: dict[str, Any] = {"value": int(m.group(1)), "size": f"[{m.group(2)}]"} if m else {}
    frame = _frame(ctx)
    line = failing_place(ctx)[0]
    if frame is None:
        return _here(ctx, 0.85, facts, "", "negative-dimension")
    for call in sorted(frame.code.calls_on_line(frame.line), key=lambda c: (c.lineno, c.col_offset)):
        for node in [*call.args, *(k.value for k in call.keywords)]:
            value = _value(ctx, frame, node)
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                facts.update(value=value, expr=ast.unparse(node), func=dotted(call.func) or call_name(call))
                name = base_name(node)
                made = _code_origin(frame, name, frame.line) if name else None
                if made is not None and _in_cell(frame) and not isinstance(node, ast.BinOp):
                    return Match("negative-dimension", 0.9, line=made, related_lines=[line] if line != made else [],
                                 facts=facts, detail="from")
                return _here(ctx, 0.9, facts, "from", "negative-dimension")
    return _here(ctx, 0.85, facts, "size" if facts else "", "negative-dimension")


@matcher
def zero_dim(ctx: Context) -> Match | None:
    """A 0-d tensor indexed, sliced, measured or iterated: made 0-d by a squeeze of a
    one-element result (the squeeze is the mistake), else a scalar to read with `.item()`."""
    if not pattern_hits(ctx, "zero-dim-index"):
        return None
    frame = _frame(ctx)
    found = first_tensor(ctx, frame, lambda t: t.dim() == 0)
    if found is None:
        return _here(ctx, 0.85, pid="zero-dim-index")
    name, value = found
    facts: dict[str, Any] = {"name": name, "value": _scalar(value)}
    record = ctx.record(value)
    if record is not None:
        trail = shape_origin(record)
        end = trail[-1]
        before = end.inputs[0].shape if getattr(end, "inputs", None) else None
        if end.op in ("squeeze", "squeeze_") and before:
            where = place(ctx, trail, frame)
            if where is not None:
                facts.update(shape=str(tuple(before)), where=line_text(ctx, where))
                here = failing_place(ctx)[0]
                return Match("squeeze-to-zero-dim", 0.9, line=where[0], related_lines=[here] if here != where[0] else [],
                             facts=facts, detail="squeezed", cause=where[1])
    return _here(ctx, 0.9, facts, "scalar", "zero-dim-index")


def _scalar(value: Any) -> str:
    try:
        return f"{value.item():.4g}" if value.is_floating_point() else str(value.item())
    except Exception:
        return "?"


# ------------------------------------------------------------------------------ masks and dtypes
@matcher
def bool_arithmetic(ctx: Context) -> Match | None:
    """`1 - mask` or `-mask` on a boolean mask: name the mask and where it became boolean."""
    if not pattern_hits(ctx, "bool-mask-arithmetic"):
        return None
    frame = _frame(ctx)
    found = first_tensor(ctx, frame, lambda t: t.dtype == torch_module().bool)
    if found is None:
        return _here(ctx, 0.85, pid="bool-mask-arithmetic")
    name, value = found
    facts: dict[str, Any] = {"name": name, "shape": _shape(value)}
    xor = "two bool tensors" in ctx.message
    return _here(ctx, 0.9, facts, "xor" if xor else "invert", "bool-mask-arithmetic")


@matcher
def mask_not_bool(ctx: Context) -> Match | None:
    """A float or integer mask given to masked_fill/where/masked_select: the line that gave the
    mask its dtype, from the run's record."""
    if not pattern_hits(ctx, "mask-not-bool"):
        return None
    frame = _frame(ctx)
    for call in _calls(frame, {"masked_fill", "masked_fill_", "masked_scatter", "masked_scatter_", "masked_select",
                               "where"}):
        is_function = isinstance(call.func, ast.Attribute) and dotted(call.func.value) == "torch"
        func = call_name(call)
        index = 1 if is_function and func != "where" else 0  # torch.masked_fill(x, mask, v), x.masked_fill(mask, v)
        node = call.args[index] if len(call.args) > index else next(
            (k.value for k in call.keywords if k.arg in ("mask", "condition")), None)
        name = base_name(node) if node is not None else None
        value = ctx.value(name, frame) if name else None
        if not is_tensor(value) or value.dtype == torch_module().bool:
            continue
        facts = {"name": name, "dtype": _dtype(value), "func": func, "shape": _shape(value)}
        match = origin_match(ctx, "mask-not-bool", name, frame.line, 0.9, facts, "dtype", frame=frame,
                             query=dtype_origin)
        if match is not None:
            return match
    return _here(ctx, 0.85, pid="mask-not-bool")


_INTEGER_DTYPES = ("int64", "int32", "int16", "int8", "uint8", "bool")


@matcher
def integer_float_op(ctx: Context) -> Match | None:
    """mean/std/softmax/norm of an integer or boolean tensor: the tensor the failing torch
    function got (a temporary such as `pred.long()` included), and where it became integer
    (a comparison, a `.long()` cast, labels)."""
    if not pattern_hits(ctx, "integer-tensor-float-op"):
        return None
    frame = _frame(ctx)
    seen = _torch_call(ctx, None)
    value = next((t for t in [*seen[0], *seen[1].values()] if is_tensor(t) and _dtype(t) in _INTEGER_DTYPES),
                 None) if seen is not None else None
    record = ctx.record(value) if value is not None else None
    name = _holder(ctx, value) if value is not None else ""
    if value is None:
        found = first_tensor(ctx, frame, lambda t: _dtype(t) in _INTEGER_DTYPES)
        if found is None:
            return _here(ctx, 0.85, pid="integer-tensor-float-op")
        name, value = found
        record = ctx.record(value)
    facts: dict[str, Any] = {"name": name, "dtype": _dtype(value), "shape": _shape(value),
                             "func": getattr(seen[2], "__name__", "") if seen is not None else ""}
    related: list[int] = []
    detail = "dtype" if name else ""
    if record is not None:
        where = place(ctx, dtype_origin(record), frame)
        if where is not None and where[1] is None:
            facts.update(where=line_text(ctx, where), op=dtype_origin(record)[-1].op or "")
            if where[0] != failing_place(ctx)[0]:
                related.append(where[0])
            detail = ("made" if related else "dtype") if name else ("cast" if facts["op"] and facts["func"] else "")
    return _here(ctx, 0.9, facts, detail, "integer-tensor-float-op", related)


# ------------------------------------------------------------------------------ in-place broadcasting
_BROADCAST = re.compile(r"output with shape \[([\d, ]*)\] doesn.t match the broadcast shape \[([\d, ]*)\]")
_CREATIONS = {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like", "tensor"}


@matcher
def inplace_broadcast(ctx: Context) -> Match | None:
    """An in-place op (`x.sub_(m)`, `x += y`, `x.add_(y)`) whose other operand would make the
    result bigger than `x`: where the operand got its shape (or where an accumulator was
    made too small)."""
    m = _BROADCAST.search(ctx.message)
    if not m:
        return None
    out_shape = tuple(int(s) for s in m.group(1).split(",") if s.strip())
    full = tuple(int(s) for s in m.group(2).split(",") if s.strip())
    facts: dict[str, Any] = {"shape": str(out_shape), "broadcast": str(full)}
    frame = _frame(ctx)
    if frame is None:
        return _here(ctx, 0.85, facts, "", "inplace-broadcast")
    stmt = frame.code.statement_at(frame.line)
    pairs: list[tuple[str | None, ast.AST]] = []
    if isinstance(stmt, ast.AugAssign):
        pairs.append((dotted(stmt.target), stmt.value))
    calls = sorted((c for c in frame.code.calls_on_line(frame.line)
                    if isinstance(c.func, ast.Attribute) and call_name(c).endswith("_") and c.args),
                   key=lambda c: (0 if isinstance(c.func.value, ast.Name) else 1, c.col_offset))
    pairs += [(base_name(c.func.value), c.args[0]) for c in calls]
    for target, operand in pairs:
        receiver = ctx.value(target, frame) if target else None
        if not is_tensor(receiver) or tuple(receiver.shape) != out_shape:
            continue
        other = base_name(operand)
        value = ctx.value(other, frame) if other else None
        if not is_tensor(value):
            continue
        facts.update(name=target, other=other, other_shape=_shape(value))
        record_r, record_o = ctx.record(receiver), ctx.record(value)
        blame, detail = other, "operand"
        if record_r is not None and record_r.op in _CREATIONS and (record_o is None or record_o.op not in _CREATIONS):
            blame, detail = target, "receiver"
        match = origin_match(ctx, "inplace-broadcast", blame, frame.line, 0.9, facts, detail, frame=frame,
                             query=shape_origin)
        if match is not None:
            return match
    return _here(ctx, 0.85, facts, "", "inplace-broadcast")


# ------------------------------------------------------------------------------ arguments of the wrong kind
_NUMPY_ARG = re.compile(r"got \(numpy\.ndarray|must be Tensor, not numpy\.ndarray|'numpy\.ndarray' object has no "
                        r"attribute '(?:dim|size|float|double|long|to|cuda|unsqueeze|view|permute|contiguous|"
                        r"detach|is_cuda|device|new_zeros|new_empty|type_as)'")


@matcher
def numpy_as_tensor(ctx: Context) -> Match | None:
    """A NumPy array given to a model, a layer or a torch function: where the array was made."""
    if not _NUMPY_ARG.search(ctx.message):
        return None
    for frame in reversed(ctx.user_frames):
        for name in frame.code.read_at(frame.line) if frame.line else []:
            value = ctx.value(name, frame)
            if type(value).__module__ == "numpy" and hasattr(value, "shape"):
                facts = {"name": name, "shape": str(tuple(value.shape)), "dtype": str(value.dtype)}
                match = origin_match(ctx, "numpy-array-as-tensor", name, frame.line, 0.9, facts, "array",
                                     frame=frame)
                if match is not None:
                    return match
    return _here(ctx, 0.8, pid="numpy-array-as-tensor")


_TUPLE_ARG = re.compile(r"must be Tensor, not tuple|received an invalid combination of arguments - got \(tuple, "
                        r"(?:Parameter|Tensor)|'tuple' object has no attribute '(?:dim|size|view|shape|to|cuda|"
                        r"float|reshape|squeeze|unsqueeze|permute|transpose|flatten|contiguous|detach|"
                        r"argmax|softmax|mean|sum|backward|item|cpu|numpy)'")


@matcher
def tuple_as_tensor(ctx: Context) -> Match | None:
    """A tuple where a tensor is meant: the output of an RNN `(out, (h, c))`, of a model that
    returns several values, or of a Dataset: the line that kept the whole tuple."""
    if not _TUPLE_ARG.search(ctx.message):
        return None
    for frame in reversed(ctx.user_frames):
        for name in frame.code.read_at(frame.line) if frame.line else []:
            value = ctx.value(name, frame)
            if isinstance(value, tuple) and value and any(is_tensor(v) or isinstance(v, tuple) for v in value):
                kinds = ", ".join(_shape(v) if is_tensor(v) else type(v).__name__ for v in value[:3])
                facts = {"name": name, "count": len(value), "items": kinds}
                made = frame.code.origin(name, frame.line)
                if made is not None and isinstance(getattr(made.node, "value", None), ast.Call):
                    facts["producer"] = ast.unparse(made.node.value.func)
                match = origin_match(ctx, "tuple-output-as-tensor", name, frame.line, 0.9, facts,
                                     "producer" if "producer" in facts else "tuple", frame=frame)
                if match is not None:
                    return match
    return _here(ctx, 0.8, pid="tuple-output-as-tensor")


@matcher
def from_numpy_on_tensor(ctx: Context) -> Match | None:
    """torch.from_numpy given a tensor: it already is one."""
    if not pattern_hits(ctx, "from-numpy-on-tensor"):
        return None
    frame = _frame(ctx)
    for call in _calls(frame, {"from_numpy"}):
        arg = _first_arg(call)
        name = base_name(arg) if arg is not None else None
        value = ctx.value(name, frame) if name else None
        if is_tensor(value):
            facts = {"name": name, "shape": _shape(value), "dtype": _dtype(value)}
            return _here(ctx, 0.9, facts, "tensor", "from-numpy-on-tensor")
    return _here(ctx, 0.85, pid="from-numpy-on-tensor")


_NUMPY_ONLY = {  # NumPy array methods a tensor lacks, and what does the same on a tensor
    "astype": "{name}.to(torch.float32)", "copy": "{name}.clone()", "fill": "{name}.fill_(value)",
    "flat": "{name}.flatten()", "strides": "{name}.stride()", "tobytes": "{name}.numpy().tobytes()",
    "tofile": "{name}.numpy().tofile(path)", "partition": "{name}.topk(k)", "argpartition": "{name}.topk(k).indices",
    "searchsorted": "torch.searchsorted({name}, values)", "compress": "{name}[mask]",
    "conjugate": "{name}.conj()", "byteswap": "{name}.numpy().byteswap()", "dump": "torch.save({name}, path)",
    "dumps": "{name}.numpy().dumps()", "choose": "torch.gather(...)",
}


@matcher
def numpy_method_on_tensor(ctx: Context) -> Match | None:
    """A NumPy-only method (astype, copy, ...) called on a torch tensor: what does the same on
    a tensor, with the dtype the call asked for."""
    m = re.search(r"'Tensor' object has no attribute '(\w+)'", ctx.message)
    if not m or m.group(1) not in _NUMPY_ONLY:
        return None
    attr = m.group(1)
    frame = _frame(ctx)
    facts: dict[str, Any] = {"attr": attr}
    for node in ast.walk(frame.code.statement_at(frame.line)) if frame is not None and frame.line else ():
        if isinstance(node, ast.Attribute) and node.attr == attr:
            name = base_name(node.value)
            value = ctx.value(name, frame) if name else None
            if not is_tensor(value):
                continue
            instead = _NUMPY_ONLY[attr].replace("{name}", name)
            parent = frame.code.parent(node)
            if attr == "astype" and isinstance(parent, ast.Call) and parent.args:
                wanted = _value(ctx, frame, parent.args[0])
                wanted = getattr(wanted, "__name__", wanted) if not isinstance(wanted, str) else wanted
                torch = torch_module()
                if isinstance(wanted, str) and isinstance(getattr(torch, wanted, None), torch.dtype):
                    instead = f"{name}.to(torch.{wanted})"
            facts.update(name=name, dtype=_dtype(value), instead=instead)
            break
    return _here(ctx, 0.9, facts, "method" if "name" in facts else "", "numpy-method-on-tensor")


# ------------------------------------------------------------------------------ sizes of the wrong type
_FLOAT_SIZE = re.compile(r"must be tuple of ints, but found element of type float|type must be tuple of ints,\s*"
                         r"but got float|should be of type int, got: float|argument 'size' \(position \d+\) must be "
                         r"tuple of ints, not float|'float' object cannot be interpreted as an integer|"
                         r"received an invalid combination of arguments - got \((?:\w+, )*float")
_SEQ_SIZE = re.compile(r"type must be tuple of ints,\s*but got (tuple|list|torch\.Size)|must be tuple of ints, but "
                       r"found element of type (tuple|list|torch\.Size)|empty\(\) received an invalid combination "
                       r"of arguments - got \((tuple|list|torch\.Size),")


def _constructor_calls(ctx: Context, frame: CellFrame | None) -> list[tuple[ast.Call, Any]]:
    """Calls on the frame's line of a module class (`nn.Linear(...)`) or a torch factory."""
    out = []
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        func = ctx.value(dotted(call.func), frame) if dotted(call.func) else None
        if isinstance(func, type) and issubclass(func, torch_module().nn.Module) or \
                (callable(func) and getattr(func, "__module__", "") in ("torch", "torch._C._VariableFunctions")) or \
                (dotted(call.func) or "").startswith("torch."):
            out.append((call, func))
    return out


@matcher
def float_size(ctx: Context) -> Match | None:
    """A layer size or tensor shape computed with `/`: a float. The line where the float was
    made: the call itself when `/` is written there, else the assignment of the name."""
    if not _FLOAT_SIZE.search(ctx.message):
        return None
    frame = _frame(ctx)
    for call, _ in _constructor_calls(ctx, frame) or [(c, None) for c in (frame.code.calls_on_line(frame.line)
                                                                            if frame is not None else [])]:
        for node in [*call.args, *(k.value for k in call.keywords)]:
            value = _value(ctx, frame, node)
            if not isinstance(value, float):
                continue
            facts = {"expr": ast.unparse(node), "value": repr(value), "func": dotted(call.func) or call_name(call)}
            division = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) for n in ast.walk(node))
            name = dotted(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
            if name and not division:
                match = origin_match(ctx, "float-size-argument", name, frame.line, 0.9, facts, "float", frame=frame)
                if match is not None:
                    return match
            return _here(ctx, 0.9, facts, "float", "float-size-argument")
    return _here(ctx, 0.8, pid="float-size-argument") if "float" in ctx.message and "ints" in ctx.message else None


_MISSING_ARG = re.compile(r"(?:(\w+)\.)?__init__\(\) missing (\d+) required positional argument")


@matcher
def sequence_size(ctx: Context) -> Match | None:
    """A layer given a list, tuple or shape where each size is its own int: `nn.Linear([a, b])`,
    `nn.Linear(x.shape[1:], 1)`."""
    missing = _MISSING_ARG.search(ctx.message)
    if not (missing or _SEQ_SIZE.search(ctx.message)):
        return None
    frame = _frame(ctx)
    for call, func in _constructor_calls(ctx, frame):
        for i, node in enumerate([*call.args, *(k.value for k in call.keywords)]):
            value = _value(ctx, frame, node)
            if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
                facts = {"expr": ast.unparse(node), "value": str(tuple(value)) if not isinstance(value, list)
                         else str(value), "layer": getattr(func, "__name__", call_name(call))}
                return _here(ctx, 0.9, facts, "sequence", "layer-size-sequence")
    return _here(ctx, 0.8, pid="layer-size-sequence") if _SEQ_SIZE.search(ctx.message) else None
