"""The shapes family's matchers for indices and labels: class targets out of range or of the wrong
dtype, embedding and gather indices past their table, index tensors of the wrong shape."""
from __future__ import annotations

import ast
import re
from typing import Any, Callable, Iterator

from ...diagnosis import Match
from ...diagnose.locate import CellFrame, code_of
from ...source.values import is_module, is_tensor, torch_module
from ...source.cellcode import base_name, call_name, dotted, loaded_names
from ...evidence import Site
from ...evidence.queries import dtype_origin, site_step, size_origin, value_origin
from ..helpers import (array_built_before, describe_trail, loaded_step, describe, failing_layer, failing_place, origin_match,
                       line_text, name_for, pattern_hits, place)
from ..registry import Context, matcher
from .literals import literal_value
from .sizes import built_site


_LOSS_CALLS = re.compile(r"(cross_entropy|nll_loss|CrossEntropyLoss|NLLLoss|criterion|loss_fn|loss_func|"
                         r"lossfn|loss_fct|loss|bce|binary_cross_entropy\w*|mse_loss|l1_loss|ctc_loss)$", re.I)


def loss_calls(ctx: Context, frame: CellFrame | int | None) -> list[ast.Call]:
    """Calls on the frame's line that look like a loss function applied to (input, target)."""
    if not isinstance(frame, CellFrame):
        frame = ctx.frame_at(frame)
    if frame is None:
        return []
    out = []
    for call in frame.code.calls_on_line(frame.line):
        # `nn.CrossEntropyLoss()(logits, y)`: the loss built and applied in one expression
        name = call_name(call) or (call_name(call.func) if isinstance(call.func, ast.Call) else "")
        value = ctx.value(dotted(call.func) or "", frame) if dotted(call.func) else None
        if _LOSS_CALLS.search(name) or (value is not None and type(value).__name__.endswith("Loss")):
            if len(call.args) >= 2 or any(k.arg == "target" for k in call.keywords):
                out.append(call)
    return out


def loss_input(ctx: Context) -> Any:
    """The input tensor the failing loss function got, read from its frame in the traceback
    (the innermost torch frame with both an `input` and a `target`)."""
    found = None
    tb = ctx.exc.__traceback__
    while tb is not None:
        local = tb.tb_frame.f_locals
        if "/torch/" in tb.tb_frame.f_code.co_filename.replace("\\", "/") and is_tensor(local.get("input")) \
                and "target" in local:
            found = local["input"]
        tb = tb.tb_next
    return found


def _short_text(node: ast.AST, limit: int = 40) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def target_arg(call: ast.Call) -> ast.AST | None:
    for k in call.keywords:
        if k.arg == "target":
            return k.value
    return call.args[1] if len(call.args) >= 2 else None


@matcher
def loss_target(ctx: Context) -> Match | None:
    """Bad class labels or label dtype: point at where the targets got their bad values (or
    their dtype): the write, the operation or the data, followed back through the run."""
    for pid in ("target-out-of-range", "loss-target-dtype"):
        if not pattern_hits(ctx, pid):
            continue
        for frame in reversed(ctx.user_frames):
            for call in loss_calls(ctx, frame):
                target = target_arg(call)
                name = (dotted(target) or base_name(target)) if target is not None else None
                if name and not is_tensor(ctx.value(name, frame)):
                    name = base_name(target)
                if name:
                    return _target_match(ctx, pid, frame, call, name)
    return None


def _target_match(ctx: Context, pid: str, frame: CellFrame, call: ast.Call, name: str) -> Match | None:
    facts: dict[str, Any] = {"name": name, "loss": dotted(call.func) or call_name(call)}
    value = ctx.value(name, frame)
    if is_tensor(value) and value.numel():
        facts.update(describe(value))
        if not value.is_floating_point():
            facts.update(min=int(value.min()), max=int(value.max()))
    input_name = base_name(call.args[0]) if call.args else None
    # what the loss function itself was given: `loss_fn(model(x), y)` has no name for it, and
    # `logits.reshape(-1, C)` is not the `logits` the name holds
    logits = loss_input(ctx)
    if is_tensor(logits):
        given = ctx.value(input_name, frame) if input_name else None
        if not (is_tensor(given) and given.shape == logits.shape):
            input_name = _short_text(call.args[0]) if call.args else input_name
    else:
        logits = ctx.value(input_name, frame) if input_name else None
    if is_tensor(logits) and logits.dim() >= 1:
        classes = int(logits.shape[1] if logits.dim() >= 2 else logits.shape[0])
        facts.update(other=input_name, num_classes=classes, last=classes - 1,
                     expected=str(logits.dtype).replace("torch.", ""))
    loss_obj = ctx.value(dotted(call.func), frame) if dotted(call.func) else None
    kind = (facts["loss"] + " " + type(loss_obj).__name__).lower()
    binary = "binary" in kind or "bce" in kind or facts.get("dtype") == "int64"
    detail = "classes" if pid == "target-out-of-range" else ("binary" if binary else "class_index")
    if pid == "loss-target-dtype":
        return origin_match(ctx, pid, name, frame.line, 0.9, facts, detail, frame=frame, query=dtype_origin)
    ignored = next((literal_value(k.value) for k in call.keywords if k.arg == "ignore_index"),
                   getattr(loss_obj, "ignore_index", -100))
    classes = facts.get("num_classes")

    def bad(lo: float, hi: float) -> bool:
        return (lo < 0 and lo != ignored) or (classes is not None and hi >= classes and hi != ignored)

    recorded = ctx.record(value) is not None
    too_few = _too_few_classes(ctx, value, classes, frame)
    if too_few is not None:
        facts.update(too_few[2])
        return Match(pid, 0.9, line=too_few[0], related_lines=[_cell_line_of(ctx, frame)], facts=facts,
                     detail="too_few_classes", cause=too_few[1])
    write = _bad_label_write(ctx, name, frame.line, classes, ignored) if frame.in_cell and not recorded else None
    if write is not None:
        return Match(pid, 0.9, line=write, related_lines=[frame.line], facts=facts, detail=detail)
    marker = _padding_marker(value, classes)
    if marker is not None:
        # one marker value, valid labels elsewhere: put there by the user's code, that is the
        # line; come with the data, the loss must be told to skip it (ignore_index)
        facts["marker"] = marker
        if recorded:
            by_user = _made_by_user(ctx, value, bad)
        else:
            made = frame.code.origin(name, frame.line)
            by_user = made is not None and made.line != frame.line
        if by_user:
            return origin_match(ctx, pid, name, frame.line, 0.9, facts, "padding", frame=frame,
                                query=lambda r: value_origin(r, bad))
        built = frame.code.origin(dotted(call.func), frame.line) if dotted(call.func) else None
        line = built.line if built is not None and is_module(loss_obj) and frame.in_cell else _cell_line_of(ctx, frame)
        related = [frame.line] if frame.in_cell and line != frame.line else []
        return Match(pid, 0.9, line=line, related_lines=related, facts=facts, detail="padding")
    match = origin_match(ctx, pid, name, frame.line, 0.9, facts, detail, frame=frame,
                         query=lambda r: value_origin(r, bad))
    record = ctx.record(value)
    if match is not None and match.cause is None and frame.in_cell and record is not None:
        # the values came with the data (star ratings 1..5): the line that turned that data
        # into this name's class labels (`labels = stars.long()`) is where they become wrong
        end = value_origin(record, bad)[-1]
        binding = frame.code.origin(name, frame.line)
        if getattr(end, "inputs", None) == () and binding is not None and match.line is not None \
                and match.line < binding.line < frame.line:
            match.related_lines = sorted({*match.related_lines, match.line} - {binding.line})
            match.line = binding.line
    return match


def _loss_ran_before(ctx: Context, frame: CellFrame) -> bool:
    """Whether the run backpropagated a loss made on the failing line before it failed there."""
    recorder = ctx.evidence.recorder
    losses = [call.subject for call in recorder.backwards if call.subject is not None] if recorder is not None else []
    return any(made.site is not None and (made.site.filename, made.site.line) == (frame.filename, frame.line)
               for loss in losses for made in (loss, *loss.inputs))


def _too_few_classes(ctx: Context, target: Any, classes: int | None, frame: CellFrame
                     ) -> tuple[int | None, Site | None, dict] | None:
    """Labels counted from 0 that run past the classifier's outputs (0..49 for 12 outputs): the
    labels are fine, the output layer was built for too few classes. Where it was built."""
    if classes is None or not is_tensor(target) or target.is_floating_point() or not target.numel():
        return None
    lo, hi = int(target.min()), int(target.max())
    if lo != 0 or hi < classes:  # labels from 1 (1..classes) are the labels' fault, not the layer's
        return None
    if _loss_ran_before(ctx, frame):
        # the same loss trained on earlier batches: this batch's labels are the odd ones when
        # they run well past the head, or when the user's code made the bad value. One past the
        # last output, come with the data, is the classic miscount of the classes, whichever
        # batch first carries the last label
        if hi > classes or ctx.record(target) is not None and _made_by_user(ctx, target, lambda lo, hi: hi >= classes):
            return None
    torch = torch_module()
    for fr in reversed(ctx.user_frames):
        for value in list(fr.frame.f_locals.values()):
            if not is_module(value):
                continue
            heads = [m for m in value.modules() if isinstance(m, torch.nn.Linear) and m.out_features == classes]
            if heads:
                site = built_site(ctx, heads[-1], None, fr)
                where = place(ctx, [site_step(site)]) if site is not None else None
                if where is not None:
                    sized = size_decided(ctx, heads[-1], site, "out_features", 1)
                    return sized or where[0], where[1], {"labels": hi + 1, "last_label": hi, "outputs": classes}
    return None


def _cell_line_of(ctx: Context, frame: CellFrame) -> int | None:
    return frame.line if frame.in_cell else ctx.line


def _made_by_user(ctx: Context, value: Any, bad: Callable[[float, float], bool]) -> bool:
    """Whether the run saw the user's code put the bad values there (an operation or a write
    of theirs), rather than receive them with data made before the run."""
    return value_origin(ctx.record(value), bad)[-1].site is not None


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
        value = literal_value(stmt.value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value != ignored \
                and (value < 0 or (classes is not None and value >= classes)):
            found = max(found or 0, stmt.lineno)
    return found


def _array_made_earlier(ctx: Context, match: Match | None) -> Match | None:
    """A dtype that came in with `torch.from_numpy(array)` (which takes no dtype) on the matched
    line, from an array the cell made on an earlier line: that line, where the array got it."""
    if match is None or match.cause is not None or match.line is None:
        return match
    built = array_built_before(ctx, match.line, "from_numpy")
    if built is not None:
        match.related_lines = sorted(set(match.related_lines) | {match.line})
        match.line = built
    return match


@matcher
def index_dtype(ctx: Context) -> Match | None:
    """Floating-point indices: the line that made the index tensor."""
    if not pattern_hits(ctx, "index-dtype"):
        return None
    for frame in reversed(ctx.user_frames):
        for name in _index_names(ctx, frame):
            value = ctx.value(name, frame)
            if is_tensor(value) and value.is_floating_point():
                facts = {"name": name, "dtype": str(value.dtype).replace("torch.", "")}
                match = origin_match(ctx, "index-dtype", name, frame.line, 0.9, facts, detail="dtype", frame=frame,
                                     query=lambda r: dtype_origin(r, ctx.filename))
                return _array_made_earlier(ctx, match)
    # ids that reach an embedding inside a model (an nn.Sequential that starts with one): the
    # ids the layer itself got, followed back to where they got their dtype
    _, ids = failing_layer(ctx, torch_module().nn.Embedding)
    record = ctx.record(ids) if is_tensor(ids) and ids.is_floating_point() else None
    where = place(ctx, dtype_origin(record)) if record is not None else None
    if where is None:  # an index made on the failing line itself: `x[torch.from_numpy(idx)]`
        here = Match("index-dtype", 0.9, line=ctx.line)
        moved = _array_made_earlier(ctx, here)
        return moved if moved is not None and moved.line != ctx.line else None
    facts = {"name": name_for(ctx, record) or "the ids", "dtype": str(ids.dtype).replace("torch.", "")}
    here = failing_place(ctx)[0]
    return Match("index-dtype", 0.9, line=where[0], related_lines=[here] if here and here != where[0] else [],
                 facts=facts, detail="dtype", cause=where[1])


_INDEX_METHODS = {"gather", "scatter", "scatter_", "scatter_add", "scatter_add_", "scatter_reduce",
                  "index_select", "index_add", "index_add_", "index_copy", "index_copy_", "index_fill",
                  "index_fill_", "take", "take_along_dim", "put_", "index_put_"}


def _index_names(ctx: Context, frame: CellFrame) -> list[str]:
    """Names used as indices on the frame's line: subscripts, the index of gather/scatter/
    index_select, and the ids given to an embedding or one_hot."""
    stmt = frame.code.statement_at(frame.line)
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
            elif node.args and isinstance(ctx.value(dotted(node.func) or "", frame), torch_module().nn.Embedding):
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
    torch = torch_module()
    candidates: list[tuple[bool, CellFrame, ast.Call, str, Any, dict]] = []
    for frame in reversed(ctx.user_frames):
        for call in frame.code.calls_on_line(frame.line):
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
    ids: Any = None
    if candidates:
        # the table whose ids really overflow, else the first one on the line
        _, frame, call, name, module, facts = max(candidates, key=lambda c: c[0])
        ids = ctx.value(facts["name"], frame) if "name" in facts else None
    else:  # a table inside a container (`nn.Sequential(nn.Embedding(...), ...)`): the layer that raised
        module, ids = failing_layer(ctx, torch.nn.Embedding)
        frame = ctx.innermost
        if module is None or frame is None:
            return None
        name = None
        facts = {"module": type(module).__name__, "size": module.num_embeddings, "last": module.num_embeddings - 1}
        if is_tensor(ids) and ids.numel() and not ids.is_floating_point():
            facts.update(max=int(ids.max()), min=int(ids.min()), name="input")
    if facts.get("min", 0) < 0:  # a negative id (padding, a missing entry): where it was made
        made = _negative_made(ctx, ids, frame, facts)
        if made is not None:
            return made
    built = built_site(ctx, module, name, frame)
    if built is None:
        return Match("index-out-of-bounds", 0.85, line=_here(ctx, frame), facts=facts, detail="embedding")
    where = place(ctx, [ctx.evidence.built_step(module) or site_step(built)], frame)
    if where is None:
        return Match("index-out-of-bounds", 0.85, line=_here(ctx, frame), facts=facts, detail="embedding")
    line, cause = where
    sized = size_decided(ctx, module, built, "num_embeddings", 0)
    if sized is not None and (sized != line or cause is not None):
        # the variable the cell passed for the size (`EmbeddingNet(n_users=n_users)`)
        return Match("index-out-of-bounds", 0.9, line=sized, related_lines=[x for x in (line, _here(ctx, frame))
                                                                            if x is not None and x != sized],
                     facts=facts, detail="embedding", cause=cause)
    if line == _here(ctx, frame) and cause is None:
        return Match("index-out-of-bounds", 0.85, line=line, facts=facts, detail="embedding")
    return Match("index-out-of-bounds", 0.9, line=line, related_lines=[_here(ctx, frame)], facts=facts,
                 detail="embedding", cause=cause)


def _negative_made(ctx: Context, ids: Any, frame: CellFrame, facts: dict) -> Match | None:
    """Ids with a negative value: the line of the run that brought the negative value in."""
    record = ctx.record(ids) if is_tensor(ids) else None
    if record is None:
        return None
    trail = value_origin(record, lambda lo, hi: lo is not None and lo < 0)
    return _values_made(ctx, trail, frame, facts, 0.9)


def _values_made(ctx: Context, trail: list, frame: CellFrame, facts: dict, score: float,
                 here_too: bool = True) -> Match | None:
    """index-out-of-bounds at the line of the run where a trail of bad index values began
    (None when it began nowhere the user wrote, or, unless `here_too`, on the failing line)."""
    where = place(ctx, trail, frame) if trail else None
    here = _here(ctx, frame)
    if where is None or where[0] is None or not here_too and where[0] == here and where[1] is None:
        return None
    return Match("index-out-of-bounds", score, line=where[0], related_lines=[here] if here and here != where[0] else [],
                 facts={**facts, "line": line_text(ctx, where)}, detail="values_made", cause=where[1],
                 trace=loaded_step(ctx, trail, where[0]) + describe_trail(ctx, trail))


@matcher
def index_values_out_of_range(ctx: Context) -> Match | None:
    """`index out of range in self` from `index_select` / `index_add_` and the like: where the
    index tensor's largest value (or a negative one) came in, followed back through the run
    (edges counted from 1, ids past a table), else nothing."""
    if "index out of range in self" not in ctx.message:
        return None
    frame = ctx.innermost
    if frame is None:
        return None
    for name, value in _index_arguments(ctx, frame):
        if value.is_floating_point() or not value.numel():
            continue
        top, low = int(value.max()), int(value.min())
        record = ctx.record(value)
        if record is None:
            continue
        if low < 0:
            trail = value_origin(record, lambda lo, hi: lo is not None and lo < 0)
        else:
            trail = value_origin(record, lambda lo, hi: hi is not None and hi >= top)
        if len(trail) < 2:
            continue
        match = _values_made(ctx, trail, frame, {"name": name, "max": top, "min": low}, 0.88)
        if match is not None:
            return match
    return None


_OUT_OF_BOUNDS = re.compile(r"index (-?\d+) is out of bounds for dimension \d+ with size (\d+)")


@matcher
def index_value_made(ctx: Context) -> Match | None:
    """`index N is out of bounds for dimension D with size S` from indexing a tensor with a
    tensor: the line of the run that brought the value N into the index (a padding value of
    -100, ids counted from 1), followed back from the index the failing line reads."""
    m = _OUT_OF_BOUNDS.search(ctx.message)
    frame = ctx.innermost
    if m is None or frame is None:
        return None
    bad, size = int(m.group(1)), int(m.group(2))
    stmt = frame.code.statement_at(frame.line)
    if stmt is None:
        return None
    names = [base_name(n.slice) for n in ast.walk(stmt) if isinstance(n, ast.Subscript)]
    names += [base_name(e) for n in ast.walk(stmt) if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Tuple)
              for e in n.slice.elts]
    for name in dict.fromkeys(n for n in names if n):
        value = ctx.value(name, frame)
        if not is_tensor(value) or value.is_floating_point() or value.dtype == torch_module().bool or not value.numel():
            continue
        low, top = int(value.min()), int(value.max())
        if bad not in (low, top):
            continue
        record = ctx.record(value)
        if record is None:
            continue
        if bad < 0:
            trail = value_origin(record, lambda lo, hi: lo is not None and lo <= bad)
        else:
            trail = value_origin(record, lambda lo, hi: hi is not None and hi >= min(bad, size))
        match = _values_made(ctx, trail, frame, {"name": name, "max": top, "min": low}, 0.88, here_too=False)
        if match is not None:
            return match
    return None


def _here(ctx: Context, frame: CellFrame) -> int | None:
    """The cell's line a frame runs under (its own line in the cell, else the call into it)."""
    return frame.line if frame.in_cell else ctx.line


def size_decided(ctx: Context, module: Any, built: Site, keyword: str, position: int) -> int | None:
    """The cell's line that decided a layer's size (`num_embeddings`, `out_features`): the line
    that computed the variable passed for it, followed through the `__init__` parameter of the
    class that built the layer (`AspectClassifier(..., polarities_dim)`) and through a
    comprehension over a list of sizes (`[nn.Embedding(n, k) for n in field_sizes]`)."""
    code = code_of(built.filename)
    stmt = code.statement_at(built.line)
    if stmt is None:
        return None
    calls = [c for c in ast.walk(stmt) if isinstance(c, ast.Call) and call_name(c) == type(module).__name__]
    if len(calls) != 1:
        return None
    call = calls[0]
    size = next((k.value for k in call.keywords if k.arg == keyword),
                call.args[position] if position < len(call.args) else None)
    if size is None:
        return None
    names = _names_behind(stmt, size)
    init = next((a for a in code.ancestors(stmt) if isinstance(a, ast.FunctionDef)), None)
    owner = code.parent(init) if init is not None else None
    if init is not None:
        if init.name != "__init__" or not isinstance(owner, ast.ClassDef):
            return None
        params = [a.arg for a in init.args.args][1:]
        given = [n for n in names if n in params or n in [a.arg for a in init.args.kwonlyargs]]
        if len(given) != 1:
            return None
        param = given[0]
        for construct in ctx.code.all_calls():
            if call_name(construct) != owner.name:
                continue
            index = params.index(param) if param in params else len(construct.args)
            arg = next((k.value for k in construct.keywords if k.arg == param),
                       construct.args[index] if index < len(construct.args) else None)
            if arg is None:
                return None
            if isinstance(arg, ast.Name):  # a variable: where the cell computed it, if it did
                made = ctx.code.origin(arg.id, construct.lineno)
                return made.line if made is not None and made.line < construct.lineno else None
            return construct.lineno  # an expression: the call that computes it
        return None
    if built.filename != ctx.filename or not isinstance(size, ast.Name) or len(names) != 1:
        return None  # an expression (`len(vocab) + 1`) on the line itself decides the size
    made = ctx.code.origin(names[0], built.line)
    return made.line if made is not None and made.line < built.line else None


def _names_behind(stmt: ast.AST, expr: ast.AST) -> list[str]:
    """The names an expression reads, a comprehension's loop variable replaced by what it loops
    over (`n` in `[f(n) for n in sizes]` is `sizes`)."""
    names = [n.id for n in ast.walk(expr) if isinstance(n, ast.Name)]
    loops = [g for g in ast.walk(stmt) if isinstance(g, ast.comprehension)]
    for _ in range(3):
        changed = False
        for g in loops:
            bound = {n.id for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            if bound & set(names):
                names = [n for n in names if n not in bound] + \
                        [n.id for n in ast.walk(g.iter) if isinstance(n, ast.Name) and n.id not in ("range", "len", "zip", "enumerate")]
                changed = True
        if not changed:
            break
    return list(dict.fromkeys(names))



_INDEX_SIZE = re.compile(r"Size does not match at dimension (\d+) expected index \[([\d, ]+)\] to be no larger than "
                         r"self \[([\d, ]+)\]")


def _index_size_made(ctx: Context, frame: CellFrame) -> Match | None:
    """An index a dimension too big for the tensor it gathers from: the operation of the run
    that gave the index that size (an `expand` to the wrong width), when it is not this line."""
    m = _INDEX_SIZE.search(ctx.message)
    if not m:
        return None
    dim = int(m.group(1))
    index_shape = [int(v) for v in m.group(2).split(",")]
    for name, value in _index_arguments(ctx, frame):
        record = ctx.record(value) if list(value.shape) == index_shape else None
        if record is None or dim >= len(index_shape):
            continue
        trail = size_origin(record, index_shape[dim])
        where = place(ctx, trail, frame)
        if where is not None and where[0] is not None and where[0] != frame.line:
            facts = {"name": name, "shape": str(tuple(value.shape))}
            return Match("gather-scatter-shape", 0.88, line=where[0], related_lines=[frame.line], facts=facts,
                         cause=where[1])
    return None


def _index_arguments(ctx: Context, frame: CellFrame) -> Iterator[tuple[str, Any]]:
    """The index tensors that gather/scatter calls on the frame's line were given, by name."""
    for call in frame.code.calls_on_line(frame.line):
        if call_name(call) not in _INDEX_METHODS:
            continue
        index = next((k.value for k in call.keywords if k.arg == "index"), call.args[1] if len(call.args) > 1 else None)
        name = base_name(index) if index is not None else None
        value = ctx.value(name, frame) if name else None
        if is_tensor(value):
            yield name, value


@matcher
def index_argument_shape(ctx: Context) -> Match | None:
    """gather/scatter given an index of the wrong shape (`Index tensor must have the same
    number of dimensions`, sizes that do not fit): where that index tensor was made, followed
    back from an earlier cell's helper to the cell."""
    if not pattern_hits(ctx, "gather-scatter-shape"):
        return None
    frame = ctx.innermost
    if frame is None:
        return None
    if frame.in_cell:
        return _index_size_made(ctx, frame)
    for name, value in _index_arguments(ctx, frame):
        if ctx.record(value) is not None:
            facts = {"name": name, "shape": str(tuple(value.shape))}
            return origin_match(ctx, "gather-scatter-shape", name, frame.line, 0.88, facts, frame=frame)
    return None
