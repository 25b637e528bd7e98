"""Loss pitfalls: scores where probabilities are needed, predictions and targets that do not
pair up, class weights, one-hot labels, a loss that stopped being a tensor, boolean masks,
and NaN or invalid probabilities reaching a function that checks them.

The tensors a loss was given are read from the loss's own frame in the traceback (the
arguments of `torch.nn.functional.<loss>`), and their records in the run's evidence say
where they were made."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Callable

from ..diagnosis import Match
from ..evidence import Site
from ..evidence.queries import ancestors, dtype_origin, nonfinite_origin, origin, shape_origin, site_step, value_origin
from ..diagnose.locate import CellFrame, code_of
from ..source.values import is_module, is_tensor, torch_module
from ..source.cellcode import CellCode, base_name, call_name, dotted, loaded_names
from .gradients import op_label, torch_frames
from .helpers import earlier_binding, failing_place, line_text, name_for, origin_match, pattern_hits, place
from .registry import Context, matcher
from .shapes.sizes import built_site

_RESHAPES = {"view", "reshape", "flatten", "view_as", "reshape_as", "unflatten", "ravel"}
_PERMUTES = {"transpose", "permute", "t", "movedim", "swapaxes", "swapdims"}
_SQUASH = {"sigmoid", "softmax", "sigmoid_", "hardsigmoid"}
_FROM_DATA = {"tensor", "as_tensor", "from_numpy", "Tensor", "FloatTensor", "DoubleTensor", "LongTensor"}
_PREDICTIONS = {"argmax", "argmin", "max", "min", "topk", "round", "floor", "ceil", "trunc"}


@dataclass
class LossCall:
    """The arguments a loss function got, read from its frame in `torch.nn.functional`."""

    function: str  # e.g. "cross_entropy"
    input: Any
    target: Any
    weight: Any
    module: Any = None  # the nn loss module whose forward called it, if any

    @property
    def label(self) -> str:
        return type(self.module).__name__ if self.module is not None else f"F.{self.function}"


def failing_loss(ctx: Context) -> LossCall | None:
    """The innermost loss function of the traceback and its arguments, or None."""
    found, module = None, None
    for frame in torch_frames(ctx.exc):
        filename = frame.f_code.co_filename.replace("\\", "/")
        local = frame.f_locals
        if filename.endswith("torch/nn/modules/loss.py") and frame.f_code.co_name == "forward":
            module = local.get("self")
        elif filename.endswith("torch/nn/functional.py") and "input" in local and "target" in local:
            found = LossCall(frame.f_code.co_name, local.get("input"), local.get("target"), local.get("weight"),
                             module)
    return found


def _user_call(ctx: Context, frame: CellFrame | None, loss: LossCall) -> ast.Call | None:
    """The call on the frame's line that passed the loss its input and target."""
    if frame is None:
        return None
    calls = [c for c in frame.code.calls_on_line(frame.line) if len(c.args) >= 2]
    for call in calls:
        values = [ctx.value(dotted(a), frame) if dotted(a) else None for a in call.args[:2]]
        if values[1] is loss.target or values[0] is loss.input:
            return call
    named = [c for c in calls if re.search(r"loss|criterion|entropy|bce|nll|mse", call_name(c), re.I)
             or isinstance(c.func, ast.Call) or is_module(ctx.value(dotted(c.func) or "", frame))]
    return named[-1] if named else None


def _arg(ctx: Context, frame: CellFrame | None, call: ast.Call | None, index: int, tensor: Any) -> str:
    """How the user's code names the loss's `index`-th argument: its variable, else its text."""
    if call is not None and len(call.args) > index:
        node = call.args[index]
        if dotted(node):
            return dotted(node)
        return _text(frame.code, node) if frame is not None else "the argument"
    record = ctx.record(tensor) if is_tensor(tensor) else None
    return (name_for(ctx, record) if record is not None else "") or ("the input" if index == 0 else "the target")


def _text(code: CellCode, node: ast.AST, limit: int = 40) -> str:
    text = " ".join((ast.get_source_segment(code.source, node) or "").split())
    return text if text and len(text) <= limit else (text[: limit - 3] + "..." if text else "the argument")


def _shape(value: Any) -> str:
    return str(tuple(int(d) for d in value))


def _num(value: float) -> str:
    return f"{value:.3g}"


def _where(ctx: Context, trail: list, frame: CellFrame | None = None) -> tuple[int | None, Site | None] | None:
    return place(ctx, trail, frame) if trail else None


def _match(pid: str, where: tuple[int | None, Site | None], here: int | None, facts: dict, detail: str,
           score: float = 0.9) -> Match:
    """A match marking `where`, with the failing line `here` as a related line when it differs."""
    related = [here] if here is not None and here != where[0] else []
    return Match(pid, score, line=where[0], related_lines=related, facts=facts, detail=detail, cause=where[1])


# ---------------------------------------------------------------------------- BCE on scores
@matcher
def bce_input_range(ctx: Context) -> Match | None:
    """BCELoss given values outside [0, 1]. Raw scores: the loss is what to change (to
    BCEWithLogitsLoss), the model's last layer is related; a sigmoid output rescaled afterwards:
    the operation that rescaled it. NaN in the input is left to nan-propagation."""
    if not pattern_hits(ctx, "bce-input-range"):
        return None
    line, cause = failing_place(ctx)
    loss = failing_loss(ctx)
    if loss is None or not is_tensor(loss.input) or not loss.input.is_floating_point() or not loss.input.numel():
        return Match("bce-input-range", 0.85, line=line, cause=cause)
    torch = torch_module()
    values = loss.input.detach()
    if not bool(torch.isfinite(values).all()):
        return Match("bce-input-range", 0.8, line=line, cause=cause)
    frame = ctx.innermost
    call = _user_call(ctx, frame, loss)
    facts: dict[str, Any] = {"name": _arg(ctx, frame, call, 0, loss.input), "min": _num(float(values.min())),
                             "max": _num(float(values.max())), "loss": loss.label}
    record = ctx.record(loss.input)
    squashed = _path_to(record, lambda r: r.op in _SQUASH) if record is not None else None
    if squashed is not None and len(squashed) > 1:
        where = place(ctx, squashed[-2:-1], frame)
        if where is not None:
            facts.update(op=op_label(squashed[-2].op), line=line_text(ctx, where))
            return _match("bce-input-range", where, line, facts, "rescaled")
    where = None
    if loss.module is not None:
        name = dotted(call.func) if call is not None else None
        built = built_site(ctx, loss.module, name, frame) if frame is not None else ctx.evidence.built_at(loss.module)
        if built is None and name and name.isidentifier():
            built = earlier_binding(ctx, name)  # built before this cell ran
        where = place(ctx, [site_step(built)], frame) if built is not None else None
    where = where or (line, cause)
    facts["line"] = line_text(ctx, where)
    match = _match("bce-input-range", where, line, facts, "logits")
    layer = _last_layer(ctx, frame, call)
    if layer is not None:
        built = ctx.evidence.built_at(layer)
        layer_at = place(ctx, [site_step(built)], frame) if built is not None else None
        if layer_at is not None:
            facts.update(layer=type(layer).__name__, layer_line=line_text(ctx, layer_at))
            match.detail = "logits_layer"
            if layer_at[1] is None and layer_at[0] not in (match.line, None):
                match.related_lines.append(layer_at[0])
    return match


def _path_to(record: Any, wanted: Callable[[Any], bool], limit: int = 2000) -> list | None:
    """The records from `record` back to the nearest one that `wanted` accepts, or None."""
    parent: dict[int, Any] = {id(record): None}
    queue, head = [record], 0
    while head < len(queue) and head < limit:
        current = queue[head]
        head += 1
        if wanted(current):
            trail = []
            while current is not None:
                trail.append(current)
                current = parent[id(current)]
            return list(reversed(trail))
        for p in current.inputs:
            if id(p) not in parent:
                parent[id(p)] = current
                queue.append(p)
    return None


def _last_layer(ctx: Context, frame: CellFrame | None, call: ast.Call | None) -> Any:
    """The last layer of the model whose output is the loss's input, when the model is an
    `nn.Sequential` called on the loss's line (`criterion(model(x), y)`) or on the line that
    assigned the input (`out = model(x)`)."""
    if frame is None or call is None or not call.args:
        return None
    node = call.args[0]
    if isinstance(node, ast.Name):
        made = frame.code.origin(node.id, frame.line)
        node = getattr(made.node, "value", None) if made is not None else None
    if not isinstance(node, ast.Call) or not dotted(node.func):
        return None
    model = ctx.value(dotted(node.func), frame)
    torch = torch_module()
    while isinstance(model, torch.nn.Sequential) and len(model):
        model = model[-1]
    return model if is_module(model) and not isinstance(model, torch.nn.Sequential) \
        and hasattr(model, "weight") else None


# ---------------------------------------------------------------------------- batch sizes
_BATCH = re.compile(r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)")


@matcher
def loss_batch_size(ctx: Context) -> Match | None:
    """Input and target with different first dimensions: the reshape that changed one of them
    (a `view(-1, k)` that folded features into the batch, flattened one-hot labels)."""
    m = _BATCH.search(ctx.message)
    if not m:
        return None
    input_size, target_size = int(m.group(1)), int(m.group(2))
    line, cause = failing_place(ctx)
    facts: dict[str, Any] = {"input_size": input_size, "target_size": target_size}
    loss = failing_loss(ctx)
    if loss is None:
        return Match("loss-batch-size-mismatch", 0.9, line=line, facts=facts, detail="sizes", cause=cause)
    frame = ctx.innermost
    call = _user_call(ctx, frame, loss)
    for index, tensor, other in ((1, loss.target, input_size), (0, loss.input, target_size)):
        record = ctx.record(tensor) if is_tensor(tensor) else None
        if record is None or not record.shape:
            continue
        trail = origin(record, lambda r: tuple(r.shape[:1]) == tuple(record.shape[:1]))
        end = trail[-1]
        before = tuple(end.inputs[0].shape) if end.inputs else ()
        if end.op not in _RESHAPES or not before or before[0] == end.shape[0]:
            continue
        where = place(ctx, trail, frame)
        if where is None:
            continue
        if where[1] is not None and end.inputs:
            # reshaped by an earlier cell's code (a head's `labels.view(-1)`): the cell can only
            # change what it handed in, so follow the tensor before the reshape to where it was made
            deeper = place(ctx, trail + shape_origin(end.inputs[0]), frame)
            if deeper is not None and deeper[0] is not None:
                where = deeper
        facts.update(name=_arg(ctx, frame, call, index, tensor), size=int(end.shape[0]), before=_shape(before),
                     op=op_label(end.op), other_size=other, line=line_text(ctx, where))
        scores = loss.input
        one_hot = index == 1 and len(before) == 2 and is_tensor(scores) and tuple(scores.shape) == before \
            and not tensor.is_floating_point()
        if one_hot:
            facts["rows"] = before[0]
        return _match("loss-batch-size-mismatch", where, line, facts, "one_hot" if one_hot else "reshaped")
    return Match("loss-batch-size-mismatch", 0.9, line=line, facts=facts, detail="sizes", cause=cause)


# ---------------------------------------------------------------------------- target layout
@matcher
def loss_target_shape(ctx: Context) -> Match | None:
    """A target whose layout does not fit the input: an extra size-1 axis or one-hot rows (where
    the target got that shape), class scores laid out last (the loss line, or the user's own
    transpose), BCE input and target of different shapes (the loss line)."""
    if not pattern_hits(ctx, "loss-target-shape"):
        return None
    line, cause = failing_place(ctx)
    loss = failing_loss(ctx)
    if loss is None or not is_tensor(loss.input) or not is_tensor(loss.target):
        return Match("loss-target-shape", 0.85, line=line, cause=cause)
    x, y = loss.input, loss.target
    frame = ctx.innermost
    call = _user_call(ctx, frame, loss)
    facts: dict[str, Any] = {"name": _arg(ctx, frame, call, 1, y), "shape": _shape(y.shape),
                             "input": _arg(ctx, frame, call, 0, x), "input_shape": _shape(x.shape),
                             "loss": loss.label}
    if "binary_cross_entropy" in loss.function or "must be the same as input size" in ctx.message:
        return Match("loss-target-shape", 0.9, line=line, facts=facts, detail="same_shape", cause=cause)
    if x.dim() >= 3 and tuple(y.shape) == tuple(x.shape[:-1]) and x.shape[1] != x.shape[-1]:
        facts.update(classes=int(x.shape[-1]), classes_read=int(x.shape[1]))
        record = ctx.record(x)
        trail = shape_origin(record) if record is not None else []
        where = place(ctx, trail, frame) if trail and trail[-1].op in _PERMUTES else None
        return _match("loss-target-shape", where or (line, cause), line, facts, "class_last")
    expected = (int(x.shape[0]),) + tuple(int(d) for d in x.shape[2:]) if x.dim() >= 2 else (int(x.shape[0]),)
    facts["expected"] = _shape(expected)
    if tuple(y.shape) == tuple(x.shape) and not y.is_floating_point():
        detail = "one_hot"
    elif y.dim() == x.dim() and y.dim() >= 2 and y.shape[1] == 1:
        detail = "extra_dim"
    else:
        detail = "sizes"
    record = ctx.record(y)
    where = place(ctx, shape_origin(record), frame) if record is not None else None
    if where is None:
        name = facts["name"]
        match = origin_match(ctx, "loss-target-shape", name, frame.line, 0.9, facts, detail, frame=frame) \
            if frame is not None and "." not in name and name.isidentifier() else None
        if match is None:
            facts["line"] = line_text(ctx, (line, cause))
            return Match("loss-target-shape", 0.9, line=line, facts=facts, detail=detail, cause=cause)
        match.facts["line"] = line_text(ctx, (match.line, match.cause))
        return match
    facts["line"] = line_text(ctx, where)
    return _match("loss-target-shape", where, line, facts, detail)


# ---------------------------------------------------------------------------- class weights
_WEIGHTS = re.compile(r"weight tensor should be defined either for all (\d+) classes or no classes but got "
                      r"weight tensor of shape: \[(\d+)\]")


@matcher
def loss_class_weights(ctx: Context) -> Match | None:
    """Class weights of the wrong length: where they were computed. A weight tensor made from
    NumPy or Python numbers leads on to the line that computed those numbers."""
    m = _WEIGHTS.search(ctx.message)
    if not m:
        return None
    classes, size = int(m.group(1)), int(m.group(2))
    line, cause = failing_place(ctx)
    loss = failing_loss(ctx)
    weight = loss.weight if loss is not None else None
    record = ctx.record(weight) if is_tensor(weight) else None
    facts: dict[str, Any] = {"classes": classes, "size": size,
                             "name": (name_for(ctx, record) if record is not None else "") or "weight"}
    if record is None:
        facts["line"] = line_text(ctx, (line, cause))
        return Match("loss-class-weights", 0.9, line=line, facts=facts, detail="size", cause=cause)
    where = place(ctx, [record])
    counted = _counted_at(ctx, record, size) if record.op in _FROM_DATA else None
    if counted is not None:
        where = place(ctx, [site_step(counted)]) or where
    where = where or (line, cause)
    facts["line"] = line_text(ctx, where)
    return _match("loss-class-weights", where, line, facts, "counted" if counted is not None else "size")


def _counted_at(ctx: Context, record: Any, size: int) -> Site | None:
    """Where the numbers a tensor was made from were computed: the statement that assigned the
    array (or list) of `size` values that the tensor's line reads."""
    site = record.site
    if site is None:
        return None
    code = code_of(site.filename)
    frame = next((f for f in reversed(ctx.user_frames) if f.filename == site.filename
                  and f.function == site.function), None)
    for name in code.read_at(site.line):
        value = ctx.value(name, frame) if frame is not None else ctx.namespace.get(name)
        if value is None or is_tensor(value) or not hasattr(value, "__len__") or isinstance(value, str):
            continue
        try:
            if len(value) != size:
                continue
        except TypeError:
            continue
        made = code.origin(name, site.line)
        if made is not None and made.line != site.line:
            return Site(site.filename, made.line, site.function)
    return None


# ---------------------------------------------------------------------------- not a tensor
_NOT_TENSOR = re.compile(r"^'([\w.]+)' object has no attribute 'backward'$")
_CONVERSIONS = re.compile(r"\.(item|tolist|numpy)\(|\b(float|int)\(|\bnp\.|\bnumpy\.|\bmath\.")


@matcher
def loss_not_tensor(ctx: Context) -> Match | None:
    """backward() on a Python number, container or None: the line that turned the loss into
    one (`.item()`, `float()`), in the cell or in the cell's function that returned it."""
    m = _NOT_TENSOR.search(ctx.message)
    if not m or ctx.exc_type != "AttributeError":
        return None
    kind = m.group(1)
    line, cause = failing_place(ctx)
    frame = ctx.innermost
    receiver = None
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        if call_name(call) == "backward" and isinstance(call.func, ast.Attribute):
            receiver = call.func.value
    name = dotted(receiver) if receiver is not None else None
    facts: dict[str, Any] = {"name": name or (_text(frame.code, receiver) if receiver is not None else "the loss"),
                             "type": kind}
    if frame is None or name is None:
        return Match("loss-not-tensor", 0.85, line=line, facts=facts, cause=cause)
    found = _made_not_tensor(ctx, frame, name, frame.line, kind)
    if found is None:
        facts["line"] = line_text(ctx, (line, cause))
        return Match("loss-not-tensor", 0.9, line=line, facts=facts, detail="type", cause=cause)
    site, detail, extra, via = found
    facts.update(extra)
    where = place(ctx, [site_step(site)], frame) or (line, cause)
    if where[1] is not None and frame.in_cell and via is not None:
        where = (via, where[1])  # the cell's call of the earlier cell's function that made it
    facts["line"] = line_text(ctx, where if site.filename != ctx.filename else (site.line, None))
    return _match("loss-not-tensor", where, line, facts, detail)


def _made_not_tensor(ctx: Context, frame: CellFrame, name: str, line: int, kind: str
                     ) -> tuple[Site, str, dict, int | None] | None:
    """(site, detail, facts, the frame's line that leads there) for where `name`, read on
    `line`, became what it is."""
    code = frame.code
    scope = code.scope_of(code.statement_at(line))
    converting = [b for b in code.bindings(scope) if b.name == name and b.line <= line
                  and isinstance(b.node, ast.AugAssign) and _CONVERSIONS.search(_text(code, b.node, 400))]
    made = code.origin(name, line)
    converting = [b for b in converting if made is None or b.line > made.line]
    if converting:
        b = converting[0]
        return Site(frame.filename, b.line, frame.function), "converted", {"conversion": _conversion(code, b.node)}, \
            b.line
    if made is None:
        return None
    value = getattr(made.node, "value", None)
    here = Site(frame.filename, made.line, frame.function)
    if kind in ("list", "tuple", "dict"):
        return here, "container", {}, made.line
    if value is not None and _CONVERSIONS.search(_text(code, value, 400)):
        return here, "converted", {"conversion": _conversion(code, value)}, made.line
    calls = [value] if isinstance(value, ast.Call) else []
    for call in calls:
        function = ctx.value(dotted(call.func), frame) if dotted(call.func) else None
        body = getattr(function, "__code__", None)
        if body is None or body.co_filename not in ctx.evidence.user and body.co_filename != ctx.filename:
            continue
        source = code_of(body.co_filename)
        defined = next((s for s in ast.walk(source.tree) if isinstance(s, ast.FunctionDef)
                        and s.name == body.co_name and s.lineno <= body.co_firstlineno + 5
                        and s.end_lineno >= body.co_firstlineno), None) if source.tree is not None else None
        if defined is None:
            continue
        returns = [r for r in ast.walk(defined) if isinstance(r, ast.Return) and r.value is not None]
        if kind == "NoneType" and not returns:
            end = defined.end_lineno or defined.lineno
            return Site(body.co_filename, end, defined.name), "none_returned", {"function": defined.name}, made.line
        for ret in returns:
            if _CONVERSIONS.search(_text(source, ret.value, 400)):
                return Site(body.co_filename, ret.lineno, defined.name), "converted", \
                    {"conversion": _conversion(source, ret.value)}, made.line
    return here, "type", {}, made.line


def _conversion(code: CellCode, node: ast.AST) -> str:
    """The first call in `node` that makes a plain number of a tensor: `.item()`, `float(...)`."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name = call_name(sub)
            if name in ("item", "tolist", "numpy") and isinstance(sub.func, ast.Attribute):
                return f".{name}()"
            if name in ("float", "int") and isinstance(sub.func, ast.Name):
                return f"{name}()"
            if dotted(sub.func) and dotted(sub.func).split(".")[0] in ("np", "numpy", "math"):
                return f"{dotted(sub.func)}()"
    return _text(code, node)


# ---------------------------------------------------------------------------- integer input
@matcher
def loss_input_dtype(ctx: Context) -> Match | None:
    """An integer tensor given as the loss's input: where it got its integer dtype (a cast, an
    argmax)."""
    if not pattern_hits(ctx, "loss-input-dtype"):
        return None
    line, cause = failing_place(ctx)
    loss = failing_loss(ctx)
    if loss is None or not is_tensor(loss.input) or loss.input.is_floating_point():
        return Match("loss-input-dtype", 0.85, line=line, cause=cause)
    frame = ctx.innermost
    call = _user_call(ctx, frame, loss)
    facts: dict[str, Any] = {"name": _arg(ctx, frame, call, 0, loss.input), "loss": loss.label,
                             "dtype": str(loss.input.dtype).replace("torch.", "")}
    record = ctx.record(loss.input)
    trail = dtype_origin(record) if record is not None else []
    where = place(ctx, trail, frame) if trail else None
    if where is None:
        return Match("loss-input-dtype", 0.9, line=line, facts=facts, cause=cause)
    op = trail[-1].op
    facts.update(op=op_label(op) if op not in ("long", "int", "short", "to", "type") else f".{op}()",
                 line=line_text(ctx, where))
    return _match("loss-input-dtype", where, line, facts, "argmax" if op in _PREDICTIONS else "cast")


# ---------------------------------------------------------------------------- one_hot
@matcher
def one_hot_classes(ctx: Context) -> Match | None:
    """`F.one_hot` of values outside 0 .. num_classes - 1: where those values were made."""
    if not pattern_hits(ctx, "one-hot-num-classes"):
        return None
    line, cause = failing_place(ctx)
    frame = ctx.innermost
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        if call_name(call) != "one_hot" or not call.args:
            continue
        name = base_name(call.args[0])
        value = ctx.value(name, frame) if name else None
        if not is_tensor(value) or not value.numel() or value.is_complex():
            continue
        size_node = call.args[1] if len(call.args) > 1 else next(
            (k.value for k in call.keywords if k.arg == "num_classes"), None)
        classes = _int_value(ctx, frame, size_node)
        classes = classes if classes is not None and classes > 0 else None
        lo, hi = int(float(value.min())), int(float(value.max()))

        def bad(a: float, b: float) -> bool:
            return a < 0 or (classes is not None and b >= classes)

        facts: dict[str, Any] = {"name": name, "min": lo, "max": hi}
        if classes is not None:
            facts.update(num_classes=classes, last=classes - 1)
        detail = "range" if classes is not None and hi >= classes else "negative"
        match = origin_match(ctx, "one-hot-num-classes", name, frame.line, 0.9, facts, detail, frame=frame,
                             query=lambda r: value_origin(r, bad))
        if match is not None:
            match.facts["line"] = line_text(ctx, (match.line, match.cause))
            return match
    return Match("one-hot-num-classes", 0.85, line=line, cause=cause)


def _int_value(ctx: Context, frame: CellFrame, node: ast.AST | None) -> int | None:
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        value = ctx.value(dotted(node), frame) if dotted(node) else None
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


# ---------------------------------------------------------------------------- boolean masks
_MASK = re.compile(r"The shape of the mask \[([\d, ]*)\] at index \d+ does not match the shape of the indexed "
                   r"tensor \[([\d, ]*)\]")


@matcher
def mask_shape(ctx: Context) -> Match | None:
    """A boolean mask of another shape than what it indexes: where the mask (or the values it
    was computed from, in the subscript) got its shape."""
    m = _MASK.search(ctx.message)
    if not m:
        return None
    mask = tuple(int(d) for d in m.group(1).replace(" ", "").split(",") if d)
    indexed = tuple(int(d) for d in m.group(2).replace(" ", "").split(",") if d)
    line, cause = failing_place(ctx)
    facts: dict[str, Any] = {"mask_shape": _shape(mask), "indexed_shape": _shape(indexed)}
    frame = ctx.innermost
    stmt = frame.code.statement_at(frame.line) if frame is not None else None
    for sub in (n for n in ast.walk(stmt) if isinstance(n, ast.Subscript)) if stmt is not None else ():
        for name in loaded_names(sub.slice):
            value = ctx.value(name, frame)
            if is_tensor(value) and tuple(value.shape) == mask:
                facts["name"] = name
                match = origin_match(ctx, "mask-shape", name, frame.line, 0.9, facts, "shape", frame=frame,
                                     query=shape_origin)
                if match is not None:
                    match.facts["line"] = line_text(ctx, (match.line, match.cause))
                    return match
    return Match("mask-shape", 0.85, line=line, facts=facts, cause=cause)


# ---------------------------------------------------------------------------- NaN and probabilities
def _checked_tensor(ctx: Context) -> tuple[str, Any] | None:
    """The tensor a checking function rejected, and how the user's code names it: a
    distribution's parameter, the weights given to multinomial, BCE's input."""
    frame = ctx.innermost
    for f in torch_frames(ctx.exc):
        filename = f.f_code.co_filename.replace("\\", "/")
        if "/torch/distributions/" in filename:
            value = f.f_locals.get("probs_2d", f.f_locals.get("value"))
            if is_tensor(value):
                record = ctx.record(value)
                return (name_for(ctx, record) if record is not None else "") or "the parameter", value
    loss = failing_loss(ctx)
    if loss is not None and is_tensor(loss.input):
        return _arg(ctx, frame, _user_call(ctx, frame, loss), 0, loss.input), loss.input
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        if call_name(call) != "multinomial":
            continue
        method = isinstance(call.func, ast.Attribute) and dotted(call.func.value) not in ("torch",)
        node = call.func.value if method else (call.args[0] if call.args else None)
        name = dotted(node) if node is not None else None
        value = ctx.value(name, frame) if name else None
        if is_tensor(value):
            return name, value
    return None


@matcher
def nan_propagation(ctx: Context) -> Match | None:
    """NaN or inf rejected by a checking function: the operation of the run that first made
    them from finite values (or the data that already held them)."""
    claimed = pattern_hits(ctx, "nan-propagation")
    if not claimed and not (pattern_hits(ctx, "invalid-probabilities") or pattern_hits(ctx, "bce-input-range")):
        return None
    checked = _checked_tensor(ctx)
    torch = torch_module()
    if checked is not None and checked[1].is_floating_point() and bool(torch.isfinite(checked[1].detach()).all()):
        return None  # finite values: not this pitfall
    if checked is None and not claimed:
        return None
    line, cause = failing_place(ctx)
    first = ctx.evidence.first_nonfinite
    record = ctx.record(checked[1]) if checked is not None else None
    if first is not None and record is not None and not any(r is first for r in ancestors(record)):
        first = None  # NaN made elsewhere in the run, not what was checked
    source = nonfinite_origin(first)
    where = place(ctx, [source]) if source is not None else None
    if where is None:
        return Match("nan-propagation", 0.92, line=line, cause=cause)
    facts: dict[str, Any] = {"line": line_text(ctx, where), "op": op_label(source.op),
                             "name": (name_for(ctx, source) or (checked[0] if checked else "the tensor"))}
    return _match("nan-propagation", where, line, facts, "origin" if source.op is not None else "data", 0.92)


@matcher
def invalid_probabilities(ctx: Context) -> Match | None:
    """Sampling weights that are negative or all zero in a row (finite: NaN is nan-propagation):
    where the weights were made or last changed."""
    if not pattern_hits(ctx, "invalid-probabilities"):
        return None
    line, cause = failing_place(ctx)
    checked = _checked_tensor(ctx)
    if checked is None:
        return Match("invalid-probabilities", 0.85, line=line, cause=cause)
    name, probs = checked
    torch = torch_module()
    values = probs.detach()
    if not values.numel() or not values.is_floating_point() or not bool(torch.isfinite(values).all()):
        return Match("invalid-probabilities", 0.8, line=line, cause=cause)
    rows = values.reshape(-1, values.shape[-1]) if values.dim() else values.reshape(1, 1)
    facts: dict[str, Any] = {"name": name}
    if bool((values < 0).any()):
        facts["min"] = _num(float(values.min()))
        detail = "negative"
    else:
        facts["rows"] = int(((rows > 0).sum(-1) == 0).sum())
        detail = "zero_rows"
    record = ctx.record(probs)
    frame = ctx.innermost
    if record is not None:
        trail = [record, record.changes[-1]] if record.changes else [record]
        where = place(ctx, trail, frame)
        if where is not None:
            facts["line"] = line_text(ctx, where)
            return _match("invalid-probabilities", where, line, facts, detail)
    match = origin_match(ctx, "invalid-probabilities", name, frame.line, 0.9, facts, detail, frame=frame) \
        if frame is not None and name.isidentifier() else None
    if match is None:
        return Match("invalid-probabilities", 0.85, line=line, facts=facts, cause=cause)
    match.facts["line"] = line_text(ctx, (match.line, match.cause))
    return match
