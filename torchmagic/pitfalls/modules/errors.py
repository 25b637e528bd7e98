"""The modules family's error matchers: BatchNorm given one sample per channel, optimizer state
on another device, and state_dict keys that do not match."""
from __future__ import annotations

import ast
import re
from typing import Any

from ...diagnosis import Match
from ...source.values import is_tensor, torch_module
from ...source.cellcode import call_name, dotted, loaded_names
from ..helpers import looped_loaders, object_place, origin_match, pattern_hits
from ..registry import Context, matcher


@matcher
def bn_last_batch(ctx: Context) -> Match | None:
    """BatchNorm given one sample: a DataLoader whose last batch holds a single sample is the
    usual cause, and `drop_last=True` where it is built is the fix."""
    if not pattern_hits(ctx, "bn-batch-size-one"):
        return None
    for frame, loop, name, loader in looped_loaders(ctx, ctx.user_frames):
        if loader.drop_last:
            continue
        try:
            size, batch = len(loader.dataset), loader.batch_size
        except Exception:
            continue
        if batch and batch > 1 and size % batch == 1:
            facts = {"loader": name, "size": size, "batch_size": batch}
            if not frame.in_cell:  # a training helper of an earlier cell loops over it
                where = object_place(ctx, loader)
                if where is not None and where[1] is None:
                    return Match("bn-batch-size-one", 0.9, line=where[0], related_lines=[ctx.line],
                                 facts=facts, detail="last_batch")
                continue
            match = origin_match(ctx, "bn-batch-size-one", name, loop.lineno, 0.9, facts, detail="last_batch")
            if match is not None and frame.line != match.line:
                match.related_lines = [frame.line]
            return match
    return None


_BATCH_NAME = re.compile(r"(^|_)(batch|bs|bsz|mb)(_|$)|batch_?size", re.I)


@matcher
def bn_batch_size_set_to_one(ctx: Context) -> Match | None:
    """BatchNorm given one sample because the cell asked for batches of one: a batch size of 1
    read where the batch is taken (the slice, the loop's `range`, the DataLoader looped over)
    points at the line that set it."""
    if not pattern_hits(ctx, "bn-batch-size-one"):
        return None
    torch = torch_module()
    for frame in reversed(ctx.frames):  # the cell's own frames, innermost first
        stmt = frame.code.statement_at(frame.line)
        if stmt is None:
            continue
        loops = [l for l in frame.code.loops_around(stmt) if isinstance(l, ast.For)]
        read = set(frame.code.read_at(frame.line))
        for loop in loops:
            read.update(loaded_names(loop.iter))
        for name in sorted(read):
            value = ctx.value(name, frame)
            loader = isinstance(value, torch.utils.data.DataLoader)
            if loader and value.batch_size == 1:
                where = object_place(ctx, value)
                if where is not None and where[1] is None:
                    return Match("bn-batch-size-one", 0.92, line=where[0], related_lines=[frame.line],
                                 facts={"name": name})
            elif type(value) is int and value == 1 and _BATCH_NAME.search(name):
                made = frame.code.origin(name, frame.line)
                if made is not None and made.line != frame.line:
                    return Match("bn-batch-size-one", 0.92, line=made.line, related_lines=[frame.line],
                                 facts={"name": name})
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
    torch = torch_module()
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
