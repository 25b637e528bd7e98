"""Layer pitfalls: recurrent layers (input size, hidden state, packing), embedding and
normalisation layers built for other inputs, and feature maps shrunk below a kernel."""
from __future__ import annotations

import ast
import re
from typing import Any

from ..diagnosis import Match
from ..evidence import Site
from ..evidence.queries import ancestors, origin, shape_origin, site_step
from ..diagnose.locate import code_of
from ..source.values import is_tensor, torch_module
from ..source.cellcode import call_name, dotted
from .helpers import failing_place, line_text, pattern_hits, place
from .registry import Context, matcher


# ------------------------------------------------------------------------------ the failing layer
def _layer_frame(ctx: Context, kinds: tuple[type, ...], names: tuple[str, ...] = ("forward", "_conv_forward")
                 ) -> tuple[Any, dict[str, Any]]:
    """The innermost layer of one of `kinds` whose method in `names` raised, and that frame's
    local variables (read, never changed)."""
    tb = ctx.exc.__traceback__
    found: tuple[Any, dict[str, Any]] = (None, {})
    while tb is not None:
        local = tb.tb_frame.f_locals
        module = local.get("self")
        if isinstance(module, kinds) and tb.tb_frame.f_code.co_name in names:
            found = (module, dict(local))
        tb = tb.tb_next
    return found


def _built(ctx: Context, module: Any) -> Site | None:
    """Where a module was built: recorded by the run, else where the name the failing line
    calls it by was assigned. A layer inside a container (a pooling layer, which registers
    nothing, inside an `nn.Sequential(...)`) is built where its container was."""
    site = ctx.evidence.built_at(module)
    if site is not None:
        return site
    for frame in reversed(ctx.user_frames):
        for name in frame.code.read_at(frame.line) if frame.line else []:
            value = ctx.value(name, frame)
            if not isinstance(value, torch_module().nn.Module) or not any(m is module for m in value.modules()):
                continue
            site = ctx.evidence.built_at(value)
            if site is not None:
                return site
            made = frame.code.origin(name, frame.line) if "." not in name else None
            if made is not None:
                return Site(frame.filename, made.line, frame.function)
    return None


def _ctor_call(site: Site, cls_name: str) -> ast.Call | None:
    """The call that builds a `cls_name` in the statement at `site` (`nn.LSTM(...)`)."""
    code = code_of(site.filename)
    stmt = code.statement_at(site.line)
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call) and call_name(n) == cls_name] if stmt else []
    return calls[0] if len(calls) == 1 else None


def _size_line(ctx: Context, site: Site, cls_name: str, position: int, keyword: str) -> tuple[int | None, Site | None]:
    """Where the size argument of a layer's constructor was set: the assignment of the name
    passed for it when there is one (`nn.LSTM(lstm_input_size, ...)`), else the constructor."""
    where = place(ctx, [site_step(site)]) or (failing_place(ctx)[0], None)
    call = _ctor_call(site, cls_name)
    if call is None:
        return where
    node = call.args[position] if len(call.args) > position else next(
        (k.value for k in call.keywords if k.arg == keyword), None)
    if isinstance(node, ast.Name):
        code = code_of(site.filename)
        made = code.origin(node.id, site.line)
        if made is not None:
            if site.filename == ctx.filename:
                return made.line, None
            return where[0], Site(site.filename, made.line, site.function)
    return where


def _match(ctx: Context, pid: str, where: tuple[int | None, Site | None] | None, facts: dict, detail: str,
           score: float = 0.9) -> Match:
    """A match on `where` (or the failing line), with the failing line as a related line."""
    here, cause = failing_place(ctx)
    line, cause = where if where is not None and where[0] is not None else (here, cause)
    return Match(pid, score, line=line, related_lines=[here] if here and here != line else [], facts=facts,
                 detail=detail, cause=cause)


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if is_tensor(value) else ""


def _rnn_kinds() -> tuple[type, ...]:
    nn = torch_module().nn
    return nn.RNNBase, nn.RNNCellBase


# ------------------------------------------------------------------------------ recurrent layers
_INPUT_SIZE = re.compile(r"input\.size\(-1\) must be equal to input_size\. Expected (\d+), got (\d+)|"
                         r"input has inconsistent input_size: got (\d+) expected (\d+)")


@matcher
def rnn_input_size(ctx: Context) -> Match | None:
    """An RNN built for another feature size than its input's last dimension. When the input
    holds that size in another dimension, the input's layout is wrong (a transpose is
    missing); otherwise the layer's `input_size` is."""
    m = _INPUT_SIZE.search(ctx.message)
    if not m:
        return None
    expected, got = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(4)), int(m.group(3)))
    layer, local = _layer_frame(ctx, _rnn_kinds())
    facts: dict[str, Any] = {"expected": expected, "got": got}
    if layer is None:
        return _match(ctx, "rnn-input-size", None, facts, "", 0.85)
    x = local.get("input")
    cls = type(layer).__name__
    facts.update(layer=cls, shape=_shape(x))
    if is_tensor(x) and expected in tuple(x.shape)[:-1] and ctx.record(x) is not None:
        where = place(ctx, shape_origin(ctx.record(x)))
        if where is not None:
            facts["where"] = line_text(ctx, where)
            return _match(ctx, "rnn-input-size", where, facts, "layout")
    site = _built(ctx, layer)
    where = _size_line(ctx, site, cls, 0, "input_size") if site is not None else None
    return _match(ctx, "rnn-input-size", where, facts, "size" if facts["shape"] else "")


_HIDDEN = re.compile(r"Expected hidden(?:\[(\d)\])? size \(([\d, ]+)\), got \[([\d, ]+)\]|"
                     r"Input batch size (\d+) doesn.t match hidden\[?(\d)\]? batch size (\d+)|"
                     r"For (?:un)?batched \d-D input, hx(?: and cx)? should also be \d-D")


@matcher
def rnn_hidden_shape(ctx: Context) -> Match | None:
    """An initial hidden state of the wrong shape: the line that made it (typically built
    once for the training batch size, then given a smaller last batch or a single sample)."""
    m = _HIDDEN.search(ctx.message)
    if not m:
        return None
    layer, local = _layer_frame(ctx, _rnn_kinds())
    facts: dict[str, Any] = {}
    if m.group(2):
        facts.update(expected=f"({m.group(2)})", got=f"({m.group(3)})")
    elif m.group(4):
        facts.update(batch=int(m.group(4)), hidden_batch=int(m.group(6)))
    index = int(m.group(1) or m.group(5) or 0)
    hx = local.get("hx")
    state = hx[index] if isinstance(hx, (tuple, list)) and len(hx) > index else hx
    if layer is None or not is_tensor(state):
        return _match(ctx, "rnn-hidden-shape", None, facts, "", 0.85)
    x = local.get("input")
    facts.update(layer=type(layer).__name__, shape=_shape(state), input=_shape(x),
                 state="h" if index == 0 else "c")
    detail = "batch" if "batch" in facts else ("shape" if "expected" in facts else "")
    record = ctx.record(state)
    if record is not None:
        trail = shape_origin(record)
        where = place(ctx, trail)
        if where is not None:
            facts["where"] = line_text(ctx, where)
            return _match(ctx, "rnn-hidden-shape", where, facts, detail + "_made" if detail else "")
    return _match(ctx, "rnn-hidden-shape", None, facts, detail, 0.85)


@matcher
def pack_unsorted(ctx: Context) -> Match | None:
    """pack_padded_sequence on lengths that are not sorted longest first."""
    if not pattern_hits(ctx, "pack-unsorted-lengths"):
        return None
    frame = ctx.innermost
    facts: dict[str, Any] = {}
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        if call_name(call) in ("pack_padded_sequence", "pack_sequence"):
            facts["func"] = call_name(call)
            node = call.args[1] if len(call.args) > 1 else next(
                (k.value for k in call.keywords if k.arg == "lengths"), None)
            value = ctx.value(dotted(node), frame) if node is not None and dotted(node) else None
            if is_tensor(value):
                value = value.tolist()
            if isinstance(value, list) and len(value) <= 12:
                facts["lengths"] = str(value)
            break
    detail = "lengths" if "lengths" in facts else ("func" if facts else "")
    return _match(ctx, "pack-unsorted-lengths", None, facts, detail)


@matcher
def pack_lengths_device(ctx: Context) -> Match | None:
    """pack_padded_sequence given lengths on the GPU: where they were moved there."""
    if not pattern_hits(ctx, "pack-lengths-on-gpu"):
        return None
    frame = ctx.innermost
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        if call_name(call) != "pack_padded_sequence":
            continue
        node = call.args[1] if len(call.args) > 1 else next(
            (k.value for k in call.keywords if k.arg == "lengths"), None)
        name = dotted(node) if node is not None else None
        value = ctx.value(name, frame) if name else None
        if not is_tensor(value):
            break
        facts = {"name": name, "device": str(value.device)}
        record = ctx.record(value)
        if record is not None:
            where = place(ctx, origin(record, lambda r: r.device == record.device))
            if where is not None:
                return _match(ctx, "pack-lengths-on-gpu", where, facts, "device")
        return _match(ctx, "pack-lengths-on-gpu", None, facts, "device")
    return _match(ctx, "pack-lengths-on-gpu", None, {}, "", 0.85)


@matcher
def rnn_backward_in_eval(ctx: Context) -> Match | None:
    """cuDNN RNN backward after `model.eval()`: the line that put the model in eval mode."""
    if not pattern_hits(ctx, "rnn-backward-in-eval"):
        return None
    for frame in reversed(ctx.user_frames):
        code = frame.code
        evals = [c for c in code.all_calls() if call_name(c) == "eval" and isinstance(c.func, ast.Attribute)
                 and c.lineno <= frame.line]
        if evals:
            call = evals[-1]
            facts = {"model": dotted(call.func.value) or "the model"}
            where = (call.lineno, None) if frame.in_cell else (failing_place(ctx)[0],
                                                               Site(frame.filename, call.lineno, frame.function))
            return _match(ctx, "rnn-backward-in-eval", where, facts, "eval")
    return _match(ctx, "rnn-backward-in-eval", None, {}, "", 0.85)


# ------------------------------------------------------------------------------ embeddings
@matcher
def embedding_padding_idx(ctx: Context) -> Match | None:
    """nn.Embedding with a padding_idx outside the table (a pad token left out of the vocab)."""
    if not pattern_hits(ctx, "embedding-padding-idx"):
        return None
    frame = ctx.innermost
    for call in frame.code.calls_on_line(frame.line) if frame is not None else []:
        if call_name(call) != "Embedding":
            continue
        tb = ctx.exc.__traceback__
        local: dict[str, Any] = {}
        while tb is not None:  # the constructor's own arguments, as it saw them
            if tb.tb_frame.f_code.co_name == "__init__" and "padding_idx" in tb.tb_frame.f_locals:
                local = dict(tb.tb_frame.f_locals)
            tb = tb.tb_next
        size = local.get("num_embeddings")
        facts = {"size": size, "padding_idx": local.get("padding_idx"),
                 "last": size - 1 if isinstance(size, int) else "?"}
        node = next((k.value for k in call.keywords if k.arg == "padding_idx"), None)
        related = []
        if isinstance(node, ast.Name):
            made = frame.code.origin(node.id, frame.line)
            if made is not None and frame.in_cell:
                related.append(made.line)
            facts["name"] = node.id
        match = _match(ctx, "embedding-padding-idx", None, facts,
                       "named" if "name" in facts else "values")
        match.related_lines += [r for r in related if r not in match.related_lines and r != match.line]
        return match
    return _match(ctx, "embedding-padding-idx", None, {}, "", 0.85)


# ------------------------------------------------------------------------------ normalisation layers
_NORM_RANK = re.compile(r"expected (\d)D(?: or (\d)D)? input \(got (\d)D input\)")


@matcher
def norm_rank(ctx: Context) -> Match | None:
    """BatchNorm1d/2d/3d (or InstanceNorm) of the wrong kind for its input: BatchNorm2d after
    a Linear layer, BatchNorm1d after a Conv2d. Its features fit, so the layer is the one to
    change; when they do not, the input lacks (or has an extra) dimension."""
    m = _NORM_RANK.search(ctx.message)
    if not m:
        return None
    layer, local = _layer_frame(ctx, (torch_module().nn.modules.batchnorm._NormBase,))
    if layer is None:
        return None
    x = local.get("input")
    cls = type(layer).__name__
    ranks = [g for g in m.groups()[:2] if g]
    facts: dict[str, Any] = {"layer": cls, "expected": " or ".join(f"{g}-D" for g in ranks),
                             "expected_zh": "或".join(f"{g} 维" for g in ranks), "ndim": int(m.group(3)),
                             "shape": _shape(x),
                             "features": layer.num_features}
    fits = is_tensor(x) and x.dim() >= 2 and x.shape[1] == layer.num_features
    if fits:
        facts["right"] = {2: f"{cls[:-2]}1d", 3: f"{cls[:-2]}1d", 4: f"{cls[:-2]}2d",
                          5: f"{cls[:-2]}3d"}.get(x.dim(), cls)
        site = _built(ctx, layer)
        where = place(ctx, [site_step(site)]) if site is not None else None
        return _match(ctx, "batchnorm-dim-mismatch", where, facts, "variant")
    record = ctx.record(x) if is_tensor(x) else None
    where = place(ctx, shape_origin(record)) if record is not None else None
    return _match(ctx, "batchnorm-dim-mismatch", where, facts, "input" if facts["shape"] else "")


_RUNNING = re.compile(r"running_mean should contain (\d+) elements not (\d+)")


@matcher
def norm_features(ctx: Context) -> Match | None:
    """A BatchNorm built for another number of features than its input has: where its
    `num_features` was set (a stale config value, a copied channel count)."""
    m = _RUNNING.search(ctx.message)
    if not m:
        return None
    got, expected = int(m.group(1)), int(m.group(2))
    layer, local = _layer_frame(ctx, (torch_module().nn.modules.batchnorm._NormBase,))
    facts: dict[str, Any] = {"got": got, "expected": expected}
    if layer is None:
        return _match(ctx, "batchnorm-num-features", None, facts, "", 0.85)
    cls = type(layer).__name__
    facts.update(layer=cls, shape=_shape(local.get("input")))
    site = _built(ctx, layer)
    where = _size_line(ctx, site, cls, 0, "num_features") if site is not None else None
    return _match(ctx, "batchnorm-num-features", where, facts, "features" if facts["shape"] else "")


_LAYER_NORM = re.compile(r"Given normalized_shape=\[([\d, ]*)\], expected input with shape \[\*, ([\d, ]*)\], "
                         r"but got input of size\s*\[([\d, ]*)\]")


@matcher
def layernorm_shape(ctx: Context) -> Match | None:
    """LayerNorm whose normalized_shape does not end the input's shape. Over several
    dimensions (C, H, W of images) the input's size is the odd one: where it was made. Over
    the feature dimension alone, the layer was built for another width: where it was."""
    m = _LAYER_NORM.search(ctx.message)
    if not m:
        return None
    normalized = tuple(int(s) for s in m.group(1).split(",") if s.strip())
    facts: dict[str, Any] = {"normalized": f"({m.group(1)})", "size": f"({m.group(3)})"}
    layer, local = _layer_frame(ctx, (torch_module().nn.LayerNorm,))
    x = local.get("input")
    if layer is None or not is_tensor(x):
        return _match(ctx, "layernorm-shape", None, facts, "shapes", 0.85)
    k = len(normalized)
    facts["tail"] = str(tuple(x.shape[-k:]))
    record = ctx.record(x)
    if k >= 2 and record is not None and tuple(x.shape[-k:])[0] == normalized[0]:
        tail = tuple(x.shape[-k:])
        trail = origin(record, lambda r: len(r.shape) >= k and tuple(r.shape[-k:]) == tail)
        where = place(ctx, trail)
        if where is not None:
            facts["where"] = line_text(ctx, where)
            return _match(ctx, "layernorm-shape", where, facts, "input")
    site = _built(ctx, layer)
    where = _size_line(ctx, site, "LayerNorm", 0, "normalized_shape") if site is not None else None
    return _match(ctx, "layernorm-shape", where, facts, "layer")


# ------------------------------------------------------------------------------ feature maps too small
_TOO_SMALL = re.compile(r"Kernel size can.t be greater than actual input size|Output size is too small|"
                        r"Invalid computed output size: -?\d+")


@matcher
def feature_map_too_small(ctx: Context) -> Match | None:
    """A feature map that shrank below a layer's kernel. A fixed pooling window sized for
    bigger images (AvgPool2d(7) of an ImageNet network) is the layer to change; a convolution
    or a small pooling step means the network's input is too small for its downsampling."""
    if not _TOO_SMALL.search(ctx.message):
        return None
    nn = torch_module().nn
    pools = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)
    layer, local = _layer_frame(ctx, (nn.modules.conv._ConvNd, *pools))
    x = local.get("input")
    if layer is None or not is_tensor(x):
        return _match(ctx, "feature-map-too-small", None, {}, "", 0.85)
    digit = type(layer).__name__[-2:-1]
    spatial = int(digit) if digit.isdigit() else max(x.dim() - 2, 1)
    kernel = layer.kernel_size if isinstance(layer.kernel_size, tuple) else (layer.kernel_size,) * spatial
    facts: dict[str, Any] = {"layer": type(layer).__name__, "kernel": " x ".join(map(str, kernel)),
                             "size": " x ".join(map(str, tuple(x.shape[-spatial:])))}
    if isinstance(layer, pools) and max(kernel) > 3:
        site = _built(ctx, layer)
        where = place(ctx, [site_step(site)]) if site is not None else None
        return _match(ctx, "feature-map-too-small", where, facts, "pool")
    record = ctx.record(x)
    if record is not None:
        first = _network_input(record, x.dim(), tuple(x.shape[-spatial:]))
        if first is not None:
            where = place(ctx, [first])
            if where is not None:
                facts.update(input=str(tuple(first.shape)), where=line_text(ctx, where))
                return _match(ctx, "feature-map-too-small", where, facts, "input")
    return _match(ctx, "feature-map-too-small", None, facts, "layer", 0.85)


def _network_input(record: Any, ndim: int, spatial: tuple[int, ...]) -> Any:
    """The tensor the network was given, from which a feature map was computed: the farthest
    record back, through records of the same rank that are not parameters, that is at least
    as big as the map and was made from nothing of that rank."""
    k = len(spatial)
    found = None
    for r in ancestors(record, lambda p: not p.parameter and len(p.shape) == ndim):
        if all(a >= b for a, b in zip(tuple(r.shape[-k:]), spatial)) and \
                not any(not p.parameter and len(p.shape) == ndim for p in r.inputs):
            found = r
    return found
