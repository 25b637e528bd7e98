"""The shapes family's matchers for sizes: matmul, conv channels, expand, view and stride errors
followed to the constructor, the batch size or the operation that set the wrong size; and the
run check of a loss whose target broadcasts."""
from __future__ import annotations

import ast
import re
from typing import Any, Callable, Iterator

from ...diagnosis import Match
from ...diagnose.locate import CellFrame, code_of
from ...source.values import is_tensor, torch_module
from ...source.cellcode import CellCode, base_name, call_name, dotted
from ...evidence import Site
from ...evidence.queries import ancestors, origin, passed_on, sample_origin, shape_origin, site_step, size_origin
from ..helpers import (FROM_ARRAY, describe_trail, records_read, constructing_line, owner_class, owner_classdef, looped_loaders, message_numbers,
                       data_entered, object_place, entry_line, run_line, earlier_binding, failing_layer, failing_place,
                       first_module, first_tensor, origin_match, line_text, name_for, pattern_hits, place)
from ..gradients import unreduced_loss
from ..registry import Context, Hit, matcher, monitor
from .literals import literal_value


@matcher
def size_from_constructor(ctx: Context) -> Match | None:
    """A size in the message that a method of an earlier cell's class computed from an attribute
    its constructor set from an argument (`ins_num = seq_len * self.batch_size`, with
    `batch_size=1` by default): the line where the cell builds that object, whose arguments
    are what to change."""
    pid = next((p for p in _JOINS if pattern_hits(ctx, p)), None)
    frame = ctx.innermost
    if pid is None or frame is None or frame.in_cell:
        return None
    numbers = message_numbers(ctx)
    code = frame.code
    cls = owner_classdef(Site(frame.filename, frame.line, frame.function))
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None) if cls else None
    if init is None:
        return None
    params = {a.arg for a in init.args.args[1:] + init.args.kwonlyargs}
    from_args = {t.attr: dotted(st.value) for st in ast.walk(init) if isinstance(st, ast.Assign)
                 for t in st.targets if isinstance(t, ast.Attribute) and dotted(t.value) == "self"
                 and isinstance(st.value, ast.Name) and st.value.id in params}
    for name, value in list(frame.frame.f_locals.items()):
        if type(value) is not int or value not in numbers or value < 2:
            continue
        made = code.origin(name, frame.line)
        reads = [n.attr for n in ast.walk(made.node) if isinstance(n, ast.Attribute) and dotted(n.value) == "self"] \
            if made is not None else []
        attr = next((a for a in reads if a in from_args), None)
        if attr is None:
            continue
        built = constructing_line(ctx, Site(frame.filename, frame.line, frame.function))
        if built is None:
            continue
        facts = {"name": name, "value": value, "attr": attr, "param": from_args[attr],
                 "current": getattr(frame.frame.f_locals.get("self"), attr, "?"), "cls": cls.name, "built": built}
        return Match(pid, 0.92, line=built, related_lines=[ctx.line] if ctx.line and ctx.line != built else [],
                     facts=facts, detail="constructor", cause=Site(frame.filename, made.line, frame.function))
    return None


_SIZED = ("shape-mismatch", "expand-non-singleton", "cat-size-mismatch", "inplace-broadcast", "non-scalar-item",
          "loss-batch-size-mismatch")


@matcher
def batch_size_assumed(ctx: Context) -> Match | None:
    """Code that assumes a fixed batch while a DataLoader the cell loops over hands out others:
    the sizes in the message are the loader's `batch_size` and its smaller last batch (a mask
    built from `args.batch_size`), or an `.item()` meets one value per sample of the batch.
    The line is where the cell built that DataLoader (`drop_last=True`, or the batch size)."""
    pid = next((p for p in _SIZED if pattern_hits(ctx, p)), None)
    if pid is None or ctx.innermost is None or ctx.innermost.in_cell:
        return None  # the cell's own line that assumes the size is the one to change
    numbers = message_numbers(ctx)
    for frame, _, name, loader in looped_loaders(ctx, ctx.frames):
        batch = loader.batch_size
        try:
            rest = len(loader.dataset) % batch if batch else 0
        except Exception:
            continue
        last_batch = not loader.drop_last and rest and {batch, rest} <= numbers and pid != "non-scalar-item"
        per_sample = pid == "non-scalar-item" and batch and batch > 1 and re.search(rf"\b{batch} elements", ctx.message)
        if not (last_batch or per_sample):
            continue
        where = object_place(ctx, loader)
        if where is None or where[0] is None:
            continue
        facts = {"loader": name, "batch_size": batch, "rest": rest}
        return Match(pid, 0.93, line=where[0], related_lines=[frame.line] if frame.line != where[0] else [],
                     facts=facts, detail="last_batch" if last_batch else "per_sample", cause=where[1])
    return None


def built_site(ctx: Context, module: Any, name: str | None, frame: CellFrame) -> Site | None:
    """Where a module was built: recorded by the run, else read from the code (the statement
    that assigned `name`, or `self.<attr> = ...` in the class running in `frame`)."""
    site = ctx.evidence.built_at(module)
    if site is not None:
        return site
    name = name or _module_name(ctx, module, frame)
    if not name:
        return None
    found = _construction(frame.code, name, frame.line)
    if found is not None:
        return Site(frame.filename, found[0], frame.function)
    if frame.in_cell or "." in name:
        return None
    return earlier_binding(ctx, name)


def _module_name(ctx: Context, module: Any, frame: CellFrame) -> str | None:
    """How the frame's code names a module: a local variable, or `self.<attr>` of the object
    whose method runs there."""
    local = frame.frame.f_locals
    for name, value in local.items():
        if value is module:
            return name
    owner = local.get("self")
    for attr, value in (getattr(owner, "_modules", None) or {}).items():
        if value is module:
            return f"self.{attr}"
    return None


def _construction(code: CellCode, name: str, line: int) -> tuple[int, ast.Call] | None:
    """The line and call that built the module called as `name` (also `self.x` in a class)."""
    if name.startswith("self."):
        assigns = [s for s in code.statements if isinstance(s, ast.Assign)
                   and any(dotted(t) == name for t in s.targets)]
        binding_nodes = [(s.lineno, s) for s in assigns]
    else:
        binding = code.origin(name, line)
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


def _channels_entered(ctx: Context, x: Any, got: int) -> tuple[int | None, Site | None] | None:
    """Where an input's channel count came in with the data: its channel dimension followed
    back, through the operations that only move it (a permute, an unsqueeze, a cast), to a tensor
    the cell made from an array, and on to the cell's line that made that array."""
    record = ctx.record(x) if is_tensor(x) and x.dim() >= 3 else None
    if record is None:
        return None
    trail: list = [record]
    while trail[-1].inputs and trail[-1].op in _KEEPS_SIZES:
        parent = trail[-1].inputs[0]
        if got not in tuple(parent.shape):
            return None
        trail.append(parent)
    end = trail[-1]
    if end.op not in FROM_ARRAY or end.site is None or end.site.filename != ctx.filename:
        return None
    return data_entered(ctx, place(ctx, trail), end)


_KEEPS_SIZES = {"permute", "transpose", "unsqueeze", "float", "to", "div", "__truediv__", "mul", "__mul__", "sub",
                "__sub__", "contiguous", "clone", "type", "double", "half"}


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
    layer, x = failing_layer(ctx, torch_module().nn.modules.conv._ConvNd)
    if is_tensor(x) and x.dim() >= 3 and x.shape[-1] == expected and ctx.record(x) is not None:
        # channels last (N, H, W, C), as images come from PIL/OpenCV: the input needs a permute
        trail = sample_origin(ctx.record(x))
        where = data_entered(ctx, place(ctx, trail), trail[-1])
        if where is not None:
            return Match("conv-input-shape", 0.9, line=where[0], facts=facts, detail="channels", cause=where[1])
    entered = _channels_entered(ctx, x, got)
    if entered is not None:  # data with another number of channels (RGBA, grayscale) made in the cell
        return Match("conv-input-shape", 0.9, line=entered[0], related_lines=[ctx.line] if ctx.line else [],
                     facts=facts, detail="channels", cause=entered[1])
    if tensor and tensor[1].shape[-1] == expected and tensor[1].dim() >= 3:
        match = origin_match(ctx, "conv-input-shape", tensor[0], frame.line if frame else ctx.line, 0.9,
                             facts, detail="channels")
        if match is not None:
            return match
    if is_tensor(x):
        wrong = _shape_made_wrong(ctx, x)
        if wrong is not None:
            return Match("conv-input-shape", 0.9, line=wrong[0], facts=facts, detail="channels", cause=wrong[1])
    if layer is not None and ctx.innermost is not None:
        built = built_site(ctx, layer, None, ctx.innermost)
        where = place(ctx, [site_step(built)]) if built is not None else None
        if where is not None:
            return Match("conv-input-shape", 0.9, line=where[0], related_lines=[ctx.line] if ctx.line else [],
                         facts=facts, detail="channels", cause=where[1])
    for stmt_call in (n for n in ast.walk(ctx.code.tree) if isinstance(n, ast.Call)) if ctx.code.tree else ():
        if not re.fullmatch(r"Conv(Transpose)?[123]d|LazyConv[123]d", call_name(stmt_call)):
            continue
        args = [literal_value(a) for a in stmt_call.args[:2]]
        kw = {k.arg: literal_value(k.value) for k in stmt_call.keywords}
        in_c = kw.get("in_channels", args[0] if args else None)
        o_c = kw.get("out_channels", args[1] if len(args) > 1 else None)
        if in_c == expected and o_c in (out_c, None):
            return Match("conv-input-shape", 0.9, line=stmt_call.lineno,
                         related_lines=[ctx.line] if ctx.line else [], facts=facts, detail="channels")
    return Match("conv-input-shape", 0.85, line=ctx.line, facts=facts, detail="channels")


_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


_PERMUTES = {"transpose", "permute", "t", "T", "mT", "movedim", "swapaxes", "swapdims"}
_RESHAPES = {"view", "reshape", "flatten", "view_as", "reshape_as", "unflatten", "cat", "concat", "concatenate"}


@matcher
def matmul_shapes(ctx: Context) -> Match | None:
    """Linear-layer size mismatch. The input needs flattening when its trailing dimensions
    hold the layer's in_features; a transpose or a reshape that changed the batch dimension
    is wrong where the run made it; otherwise the layer was built for another size."""
    m = _MATMUL.search(ctx.message)
    if not m:
        return None
    rows, got, expected, out = (int(g) for g in m.groups())
    facts: dict[str, Any] = {"rows": rows, "got": got, "expected": expected, "out": out}
    frame = ctx.frames[-1] if ctx.frames else None
    _input_and_layer(ctx, frame, lambda t: t.dim() >= 1 and t.shape[-1] == got, "in_features", expected, facts)
    line, cause = failing_place(ctx)
    layer, x = failing_layer(ctx, torch_module().nn.Linear)
    if is_tensor(x) and layer is not None:
        if x.dim() > 2 and _product(x.shape[1:]) == layer.in_features:
            return Match("shape-mismatch", 0.9, line=line, facts=facts, detail="linear", cause=cause)
        found = _shape_made_wrong(ctx, x, layer.in_features)
        if found is not None:
            return Match("shape-mismatch", 0.9, line=found[0], related_lines=[line] if line != found[0] else [],
                         facts=facts, detail="linear", cause=found[1])
        built = built_site(ctx, layer, None, ctx.innermost) if ctx.innermost is not None else None
        where = place(ctx, [site_step(built)]) if built is not None else None
        if where is not None:
            return Match("shape-mismatch", 0.9, line=where[0], related_lines=[line] if line != where[0] else [],
                         facts=facts, detail="linear", cause=where[1])
    return Match("shape-mismatch", 0.85, line=line, facts=facts, detail="linear", cause=cause)


def _product(dims: Any) -> int:
    out = 1
    for d in dims:
        out *= int(d)
    return out


def _shape_made_wrong(ctx: Context, x: Any, features: int | None = None) -> tuple[int | None, Site | None] | None:
    """Where the user's code gave a layer's input a wrong shape, from the run's record: a
    transpose or permute, a reshape that changed the batch dimension, or one that put the
    layer's `features` on another axis than the last (`reshape(B, C * P, P)` for
    `reshape(B, P, C * P)`)."""
    record = ctx.record(x)
    if record is None:
        return None
    trail = shape_origin(record)
    end = trail[-1]
    if end.site is None or not end.inputs:
        return None
    before = end.inputs[0].shape
    batch_changed = end.op in _RESHAPES and before and end.shape and before[0] != end.shape[0]
    axes_swapped = end.op in _RESHAPES and features is not None and features in tuple(end.shape)[1:-1]
    if end.op in _PERMUTES or batch_changed or axes_swapped:
        return place(ctx, trail)
    return None


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


def _module_class_built(ctx: Context) -> type | None:
    """The nn.Module class whose constructor the failure ran in, given tensors as its options:
    a class called where an instance was meant (`criterion = nn.MSELoss`, then
    `criterion(pred, y)` builds an MSELoss with size_average=pred)."""
    torch = torch_module()
    tb = ctx.exc.__traceback__
    while tb is not None:
        local = tb.tb_frame.f_locals
        if tb.tb_frame.f_code.co_name == "__init__" and isinstance(local.get("self"), torch.nn.Module) \
                and any(is_tensor(v) for k, v in local.items() if k != "self"):
            return type(local["self"])
        tb = tb.tb_next
    return None


_EXPAND = re.compile(r"expanded size of the tensor \((\d+)\) must match the existing size \((\d+)\) at "
                     r"non-singleton dimension (\d+)")


@matcher
def expand_resized(ctx: Context) -> Match | None:
    """`x.expand_as(y)` (or an expand to `y`'s shape) where one of the two was resized on its
    own lines up (an interpolate, a pooling): the mismatched size entered there, so that is
    the side to change. Not mine when neither side was resized (the failing line is the place)."""
    m = _EXPAND.search(ctx.message)
    if not m:
        return None
    from ..tensors import _torch_call

    seen = _torch_call(ctx, {"expand", "expand_as", "broadcast_to"})
    if seen is None or not seen[0] or not is_tensor(seen[0][0]):
        return None
    target, existing, dim = int(m.group(1)), int(m.group(2)), int(m.group(3))
    receiver = seen[0][0]
    frame = ctx.innermost
    others = [a for a in seen[0][1:] if is_tensor(a)]
    if not others and frame is not None:  # `x.expand(*y.shape)`: a tensor of the line with the target shape
        others = [ctx.value(n, frame) for n in frame.code.read_at(frame.line)]
        others = [o for o in others if is_tensor(o) and o is not receiver and o.dim() > dim and o.shape[dim] == target]
    if not others:
        return _expanded_handed_in(ctx, receiver, existing, target)
    other = others[0]
    reduced = _reduced_without_keepdim(ctx, receiver, other)
    if reduced is not None:
        return reduced
    sides = [(receiver, receiver.dim() - (other.dim() - dim), existing), (other, dim, target)]
    resized = []
    for tensor, k, size in sides:
        record = ctx.record(tensor)
        if record is None or k < 0:
            continue
        back = -(tensor.dim() - k)  # the dimension counted from the right, as broadcasting does
        trail = origin(record, lambda r: len(r.shape) >= -back and r.shape[back] == size)
        end = trail[-1]
        inputs = [p for p in getattr(end, "inputs", ()) if len(p.shape) >= -back]
        moved = any(sorted(p.shape) == sorted(end.shape) for p in inputs)  # a transpose moves sizes, makes none
        if end.made and inputs and not moved and all(p.shape[back] != size for p in inputs):
            resized.append((tensor, trail, inputs[0].shape[back], size))
    if len(resized) != 1:
        return _expanded_handed_in(ctx, receiver, existing, target)
    tensor, trail, old, new = resized[0]
    where = place(ctx, trail, frame)
    if where is None:
        return None
    names = _names_by_object(ctx, frame)
    facts = {"name": names.get(id(receiver), "the tensor"), "shape": str(tuple(receiver.shape)),
             "other": names.get(id(other), "the target"), "other_shape": str(tuple(other.shape)), "dim": dim,
             "old": old, "new": new, "op": trail[-1].op, "line": line_text(ctx, where),
             "resized": names.get(id(tensor), name_for(ctx, trail[-1]) or "it")}
    here = failing_place(ctx)[0]
    return Match("expand-non-singleton", 0.92, line=where[0], related_lines=[here] if here and here != where[0] else [],
                 facts=facts, detail="resized", cause=where[1])


def _expanded_handed_in(ctx: Context, receiver: Any, existing: int, target: int) -> Match | None:
    """An expand inside an earlier cell's code (a model's forward) of a tensor the cell made on
    a line of its own and handed in (a mask, a bias table): its size is the one that does not
    fit what the code computed, so the line that made it is where to change it."""
    frame = ctx.innermost
    record = ctx.record(receiver)
    if frame is None or frame.in_cell or record is None:
        return None
    where = place(ctx, [record])
    here = failing_place(ctx)[0]
    if where is None or where[0] is None or where[0] == here:
        return None
    facts = {"name": name_for(ctx, record) or "the tensor", "shape": str(tuple(receiver.shape)),
             "size": existing, "target": target, "line": line_text(ctx, where)}
    return Match("expand-non-singleton", 0.9, line=where[0], related_lines=[here] if here else [],
                 facts=facts, detail="handed_in", cause=where[1])


def _names_by_object(ctx: Context, frame: CellFrame | None) -> dict[int, str]:
    """The names read on the frame's line, keyed by the id of the value each holds."""
    return {id(ctx.value(n, frame)): n for n in (frame.code.read_at(frame.line) if frame else [])}


_REDUCTIONS = {"sum", "mean", "norm", "amax", "amin", "max", "min", "std", "var", "prod", "logsumexp", "median",
               "linalg_norm", "linalg_vector_norm"}


def _reduced_without_keepdim(ctx: Context, receiver: Any, other: Any) -> Match | None:
    """The tensor to expand was made by a reduction that dropped the dimension it was taken
    over (`x.norm(dim=1)` without `keepdim=True`): it now lines up with the wrong dimension of
    the target. The line is the reduction."""
    record = ctx.record(receiver)
    if record is None or record.op not in _REDUCTIONS or not record.inputs or receiver.dim() >= other.dim():
        return None
    source = record.inputs[0]
    if len(source.shape) != receiver.dim() + 1:
        return None
    frame = ctx.innermost
    where = place(ctx, [record], frame)
    if where is None or where[0] is None:
        return None
    names = _names_by_object(ctx, frame)
    facts = {"name": names.get(id(receiver), name_for(ctx, record) or "the tensor"), "shape": str(tuple(receiver.shape)),
             "op": record.op, "line": line_text(ctx, where), "source_shape": str(tuple(source.shape))}
    here = failing_place(ctx)[0]
    return Match("expand-non-singleton", 0.93, line=where[0], related_lines=[here] if here and here != where[0] else [],
                 facts=facts, detail="reduced", cause=where[1])


def _picked_from_earlier(ctx: Context, line: int | None) -> Site | None:
    """When the cell's `line` only picks a value out of an earlier cell's object
    (`criterion = config["loss"]`, `act = opts.activation`), where that object was set."""
    stmt = ctx.code.statement_at(line) if line else None
    value = getattr(stmt, "value", None)
    if not isinstance(value, (ast.Subscript, ast.Attribute)):
        return None
    base = base_name(value)
    if not base or any(b.name == base for b in ctx.code.bindings()):
        return None
    return earlier_binding(ctx, base)


@matcher
def module_class_called(ctx: Context) -> Match | None:
    """A layer or loss class used as if it were an instance: the name that holds the class,
    followed back to where it was given the class instead of an instance."""
    if not pattern_hits(ctx, "ambiguous-bool"):
        return None
    cls = _module_class_built(ctx)
    if cls is None:
        return None
    for frame in reversed(ctx.user_frames):
        for call in frame.code.calls_on_line(frame.line):
            name = dotted(call.func)
            if name and ctx.value(name, frame) is cls:
                facts = {"name": name, "cls": cls.__name__}
                match = origin_match(ctx, "ambiguous-bool", name, frame.line, 0.92, facts, "module_class",
                                     frame=frame)
                if match is not None and match.cause is None and frame.in_cell:
                    match.cause = _picked_from_earlier(ctx, match.line)
                if match is not None:
                    return match
    return None


@matcher
def many_elements(ctx: Context) -> Match | None:
    """`.item()` or `if tensor:` on a tensor with several elements: name it with its shape."""
    pid = next((p for p in ("non-scalar-item", "ambiguous-bool") if pattern_hits(ctx, p)), None)
    if pid is None:
        return None
    frame = ctx.innermost
    line, cause = failing_place(ctx)
    found = first_tensor(ctx, frame, lambda t: t.numel() > 1)
    if found is None:
        return Match(pid, 0.8, line=line, cause=cause)
    name, value = found
    facts = {"name": name, "shape": str(tuple(value.shape)), "numel": value.numel()}
    handed = _handed_in_by_cell(ctx, frame, name, value)
    if handed is not None:  # `model(x, targets)` filling a flag parameter of an earlier cell's forward
        return Match(pid, 0.85, line=handed, related_lines=[line] if line is not None and line != handed else [],
                     facts=facts, detail="numel", cause=cause)
    receivers = [dotted(c.func.value) for c in frame.code.calls_on_line(frame.line)
                 if call_name(c) in ("item", "tolist") and isinstance(c.func, ast.Attribute)] if frame else []
    if pid == "non-scalar-item" and name in receivers and ctx.record(value) is not None:
        # `loss.item()` of a loss that was never reduced: where it was made is where to reduce it
        asked = unreduced_loss(ctx, ctx.record(value))
        if asked is not None and asked[0] is not None:
            return Match(pid, 0.85, line=asked[0], related_lines=[line] if line is not None and line != asked[0] else [],
                         facts=facts, detail="numel", cause=asked[1])
        match = origin_match(ctx, pid, name, frame.line, 0.8, facts, "numel", frame=frame)
        if match is not None:
            return match
    return Match(pid, 0.8, line=line, facts=facts, detail="numel", cause=cause)


def _handed_in_by_cell(ctx: Context, frame: CellFrame | None, name: str, value: Any) -> int | None:
    """The cell's line whose call handed `value` to a parameter `name` of an earlier cell's
    function (the tensor was not made in that function): the call that passes the wrong argument."""
    if frame is None or frame.in_cell:
        return None
    code = frame.frame.f_code
    if name not in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        return None
    record = ctx.record(value)
    if record is not None and record.site is not None and record.site.filename == frame.filename \
            and record.site.function == frame.function:
        return None  # rebound to a tensor the function made itself
    return next((f.line for f in reversed(ctx.user_frames) if f.in_cell), None)


@matcher
def non_contiguous_view(ctx: Context) -> Match | None:
    """`.view()` on a transposed/permuted tensor: name it with its shape and strides."""
    if not pattern_hits(ctx, "view-non-contiguous"):
        return None
    frame = ctx.innermost
    line, cause = failing_place(ctx)
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        if call_name(call) == "view" and isinstance(call.func, ast.Attribute):
            name = dotted(call.func.value)
            value = ctx.value(name, frame) if name else None
            if is_tensor(value) and not value.is_contiguous():
                facts = {"name": name, "shape": str(tuple(value.shape)), "stride": str(value.stride())}
                permuted = _permuted_at(ctx, value)
                if permuted is not None and cause is not None:
                    # the view is in an earlier cell's code; the transpose is the cell's own
                    return Match("view-non-contiguous", 0.85, line=permuted[0], facts=facts, detail="strides",
                                 cause=permuted[1])
                related = [permuted[0]] if permuted is not None and permuted[0] != line else []
                return Match("view-non-contiguous", 0.8, line=line, related_lines=related, facts=facts,
                             detail="strides", cause=cause)
    return Match("view-non-contiguous", 0.7, line=line, cause=cause) if cause is not None else None


def _permuted_at(ctx: Context, value: Any) -> tuple[int | None, Site | None] | None:
    """Where the run transposed (or permuted, expanded) a tensor into a layout `.view` refuses."""
    record = ctx.record(value)
    if record is None:
        return None
    for step in shape_origin(record) if record.op not in _PERMUTES else [record]:
        if getattr(step, "op", None) in _PERMUTES | {"expand", "expand_as", "narrow"}:
            return place(ctx, [step])
    return None


@matcher
def view_size(ctx: Context) -> Match | None:
    """`.view`/`.reshape` to a shape the element count doesn't fit (a hard-coded flatten size)."""
    m = re.search(r"shape '(\[[-\d, ]+\])' is invalid for input of size (\d+)", ctx.message)
    if not m:
        return None
    facts: dict[str, Any] = {"expected": m.group(1), "numel": int(m.group(2))}
    frame = ctx.innermost
    line, cause = failing_place(ctx)
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        if call_name(call) in ("view", "reshape") and isinstance(call.func, ast.Attribute):
            name = dotted(call.func.value)
            value = ctx.value(name, frame) if name else None
            if is_tensor(value) and value.numel() == facts["numel"]:
                facts.update(name=name, shape=str(tuple(value.shape)))
                break
    return Match("shape-mismatch", 0.85, line=line, facts=facts, detail="view", cause=cause)


@matcher
def layer_input_rank(ctx: Context) -> Match | None:
    """A layer given an input with a dimension missing or extra (`Expected 3D (unbatched) or 4D
    (batched) input to conv2d`): the line is the operation of the run that gave the input that
    shape (an `unsqueeze` too many, a single sample taken out of a batch)."""
    m = re.search(r"Expected (\d)D \(unbatched\) or (\d)D \(batched\) input to (\w+), but got input of size: "
                  r"\[([\d, ]*)\]", ctx.message)
    if not m:
        return None
    facts: dict[str, Any] = {"layer": m.group(3), "shape": f"({m.group(4)})", "expected": m.group(2)}
    line, cause = failing_place(ctx)
    layer, x = failing_layer(ctx, torch_module().nn.Module)
    record = ctx.record(x) if is_tensor(x) else None
    if record is not None:
        trail = passed_on(record, ctx.filename)
        made = shape_origin(trail[-1]) if trail[-1].site is not None and trail[-1].site.filename == ctx.filename \
            else [trail[-1]]
        where = place(ctx, trail[:-1] + made)
        if where is not None:
            return Match("conv-input-shape", 0.88, line=where[0], related_lines=[line] if line != where[0] else [],
                         facts=facts, cause=where[1])
    return Match("conv-input-shape", 0.86, line=line, facts=facts, cause=cause)


@matcher
def size_from_default_argument(ctx: Context) -> Match | None:
    """Two sizes that do not fit, one of them fixed when a module was built, from a default
    argument of its class that the cell never set (`max_seq_len=200` for a positional table,
    with sentences of 216 tokens): the cell's line that built the model, where that argument
    belongs. A size the cell passed on purpose is taken as right, and this says nothing."""
    pid = next((p for p in _JOINS if pattern_hits(ctx, p)), None)
    frame = ctx.innermost
    if pid is None or frame is None or frame.in_cell:
        return None
    numbers = message_numbers(ctx) - {0, 1}
    passed = {k.arg for c in ctx.code.all_calls() for k in c.keywords if k.arg}
    for record in records_read(ctx, frame):
        for size in numbers & set(record.shape):
            trail = size_origin(record, size)
            end = trail[-1]
            if end.site is None or end.site.function != "__init__":
                continue
            default = _default_behind(end.site, passed)
            if default is None:
                continue
            where = place(ctx, trail, frame)
            if where is None or where[0] is None:
                continue
            facts = {"param": default, "size": size, "cls": owner_class(end.site) or "", "line": line_text(ctx, where)}
            return Match(pid, 0.9, line=where[0], related_lines=[ctx.line] if ctx.line and ctx.line != where[0] else [],
                         facts=facts, detail="default_size", cause=where[1], trace=describe_trail(ctx, trail))
    return None


def _default_behind(site: Site, passed: set[str]) -> str | None:
    """The parameter with a default value of the `__init__` at `site` that the statement there
    reads and that no call of the cell passes by name, else None."""
    code = code_of(site.filename)
    stmt = code.statement_at(site.line)
    init = next((a for a in code.ancestors(stmt) if isinstance(a, ast.FunctionDef)), None) if stmt else None
    if init is None or init.name != "__init__":
        return None
    args = init.args.args[1:]
    with_default = {a.arg for a in args[len(args) - len(init.args.defaults):]} if init.args.defaults else set()
    with_default |= {a.arg for a, d in zip(init.args.kwonlyargs, init.args.kw_defaults) if d is not None}
    read = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    return next((p for p in sorted(read & with_default) if p not in passed), None)


@matcher
def interpolate_input_rank(ctx: Context) -> Match | None:
    """`F.interpolate` given an input whose number of dimensions does not fit the size asked
    for, when an earlier cell's helper made that input (a loader that returns `(1, 1, H, W, 3)`
    for an RGB file it expected to be single-channel): the cell's line that called the helper."""
    if "must have the same number of spatial dimensions" not in ctx.message:
        return None
    x = _torch_local(ctx, "interpolate", "input")
    record = ctx.record(x) if is_tensor(x) else None
    if record is None:
        return None
    trail = passed_on(record, ctx.filename)
    made = shape_origin(trail[-1]) if trail[-1].site is not None and trail[-1].site.filename == ctx.filename \
        else [trail[-1]]
    end = made[-1]
    if end.site is None or end.site.function == "<module>":  # not made by a helper this cell called
        return None
    where = place(ctx, trail[:-1] + made)
    line, _ = failing_place(ctx)
    if where is None or where[0] is None or where[1] is None or where[0] == line:
        return None
    return Match("interpolate-size", 0.88, line=where[0], related_lines=[line] if line else [],
                 facts={"shape": str(tuple(x.shape))}, cause=where[1], trace=describe_trail(ctx, trail[:-1] + made))


def _torch_local(ctx: Context, function: str, name: str) -> Any:
    """A local variable of the innermost frame of the traceback that runs `function` (a torch
    function the failing line called: `interpolate`'s `input`), or None."""
    tb = ctx.exc.__traceback__
    found = None
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            found = tb.tb_frame.f_locals.get(name)
        tb = tb.tb_next
    return found


# ---------------------------------------------------------------------- sizes a stride rounded down
_DOWNSAMPLES = re.compile(r"pool[123]d|conv[123]d$|^_?max_pool|^_?avg_pool")
_JOINS = ("cat-size-mismatch", "shape-mismatch", "expand-non-singleton", "inplace-broadcast")


def _factor(record: Any) -> tuple[int, int, int] | None:
    """(size in, size out, factor) of a pooling or strided convolution that shrank a spatial
    dimension by a factor of 2 or more; None for any other operation."""
    if not record.op or not _DOWNSAMPLES.search(record.op) or not record.inputs:
        return None
    source = record.inputs[0]
    if len(source.shape) != len(record.shape) or len(record.shape) < 3:
        return None
    for before, after in zip(source.shape[2:], record.shape[2:]):
        if after and before > after and round(before / after) >= 2:
            return before, after, round(before / after)
    return None


@matcher
def size_lost_to_a_stride(ctx: Context) -> Match | None:
    """Two paths of a network that no longer line up (a skip connection, a coarse and a fine
    map) because a pooling or strided layer rounded an odd size down: the line is where the
    cell gave the input its spatial size (the image made, or the size it was resized to), since
    that size must be a multiple of the network's total stride."""
    pid = next((p for p in _JOINS if pattern_hits(ctx, p)), None)
    frame = ctx.innermost
    if pid is None or frame is None or "is invalid for input of size" in ctx.message:
        return None  # a `view` to a fixed size is changed where it is written
    named = records_read(ctx, frame)
    recorder = ctx.evidence.recorder
    # the unnamed operands too: what the failing line itself made (`self.up(self.pool(skip))`)
    made_here = sorted((r for r in list(recorder.table.values()) if r.site is not None
                        and r.site.filename == frame.filename and r.site.line == frame.line),
                       key=lambda r: -r.order)[:8] if recorder is not None else []
    for record in named + made_here:
        chain = list(ancestors(record, limit=2_000))
        lossy = next((r for r in chain if (f := _factor(r)) and f[1] * f[2] != f[0]), None)
        if lossy is None:
            continue
        # the input as the cell made it, or the cell's line that ran an earlier cell's helper making it
        behind = list(ancestors(lossy, limit=2_000))
        makers = [r for r in behind if r is not lossy and r.made and r.site is not None
                  and (r.site.filename == ctx.filename or r.cell_line) and len(r.shape) == len(lossy.shape)]
        in_cell = [r for r in makers if r.site.filename == ctx.filename]
        made = (in_cell or makers)[-1] if makers else None  # the farthest back: where the input began
        if made is None:
            continue
        at = made.site.line if made.site.filename == ctx.filename else made.cell_line
        before, after, factor = _factor(lossy)
        multiple = 1
        for r in behind:
            f = _factor(r)
            multiple *= f[2] if f else 1
        line = _size_set_at(ctx, at, tuple(made.shape[2:]))
        facts = {"op": lossy.op, "size": before, "out": after, "factor": factor, "multiple": multiple,
                 "input_size": " x ".join(map(str, made.shape[2:])), "where": line}
        return Match(pid, 0.93, line=line, related_lines=[at] if line != at else [], facts=facts, detail="odd_size")
    return None


def _size_set_at(ctx: Context, line: int, spatial: tuple[int, ...]) -> int:
    """The line that set a spatial size used on `line`: a variable of that value read there
    (`size=(img_size, img_size)`), else `line` itself."""
    for name in ctx.code.read_at(line):
        value = ctx.namespace.get(name)
        if type(value) is int and value in spatial:
            made = ctx.code.origin(name, line)
            if made is not None and made.line < line:
                return made.line
    return line


# ---------------------------------------------------------------------------- run checks
@monitor
def run_loss_broadcast(cell: Any, found: Any) -> Iterator[Hit]:
    """An element-wise loss given a prediction and a target that broadcast to a bigger shape,
    as the run saw it: the loss's line when the cell calls it; when a helper from an earlier
    cell does, the cell's line where the target's shape was made or the target came in."""
    for seen in found.observations:
        if seen.kind != "loss-broadcast":
            continue
        prediction, target = seen.facts["input"], seen.facts["target"]
        line = seen.site.line if seen.site is not None and seen.site.filename == found.user.cell else None
        line = line or entry_line(cell, found, sample_origin(target))
        line = line or run_line(found, seen.site, seen.cell_line)
        if line is not None:
            yield Hit("loss-broadcast", line, str(tuple(prediction.shape)), str(tuple(target.shape)))
