"""The autograd family's matchers for in-place changes: a saved tensor changed in place, a leaf
that requires grad changed in place, and NaN produced in backward."""
from __future__ import annotations

import ast
import re
from typing import Any

from ...diagnosis import Match
from ...source.values import is_tensor
from ...source.cellcode import CellCode
from ...evidence import Site
from ...evidence.queries import nonfinite_origin, site_step
from ..helpers import line_text, module_site, name_for, pattern_hits, place
from ..registry import Context, matcher


@matcher
def inplace_autograd(ctx: Context) -> Match | None:
    """The in-place op that clobbered a tensor saved for backward (not the backward() line)."""
    if not pattern_hits(ctx, "inplace-autograd"):
        return None
    facts: dict[str, Any] = {}
    # a leaf (a parameter) is named without the "which is output N of X" part
    m = re.search(r"\[(?:torch\.)?(\w+) \[([\d, ]*)\]\](?:, which is output (\d+) of (\w+),)? is at version (\d+); "
                  r"expected version (\d+)", ctx.message)
    if m:
        facts.update(shape=f"({m.group(2)})", op=m.group(4) or "", version=m.group(5), expected=m.group(6))
    recorded = _inplace_from_evidence(ctx, m, facts)
    if recorded is not None:
        return recorded
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
                     detail="saved" if m and m.group(4) else "")
    return Match("inplace-autograd", 0.8, line=forward_line, facts=facts, detail="saved" if m and m.group(4) else "")


def _inplace_from_evidence(ctx: Context, m: Any, facts: dict) -> Match | None:
    """From the run's record: the tensor the message describes (output of that backward
    function, that shape) and the in-place write that moved it past the version backward saved."""
    recorder = ctx.evidence.recorder
    if recorder is None or m is None:
        return None
    shape = tuple(int(d) for d in m.group(2).replace(" ", "").split(",") if d)
    op, expected = m.group(4), int(m.group(6))
    found = [r for r in recorder.changed if tuple(r.shape) == shape and r.changes
             and op is not None and (_same_op(op, r.grad_fn) or any(_same_op(op, c.op) for c in r.changes))]
    if not found:
        return _stepped_parameter(ctx, shape, facts)
    record = found[-1]
    change = record.changes[expected] if len(record.changes) > expected else record.changes[-1]
    layer = change.module() if change.module is not None else None
    built = module_site(ctx.evidence, layer) if layer is not None else None
    # a layer built with inplace=True wrote it: the line to change is where that layer is built
    where = place(ctx, [record, site_step(built)]) if built is not None else place(ctx, [record, change])
    if where is None:
        return None
    made = place(ctx, [record])
    related = [made[0]] if made is not None and made[0] not in (None, where[0]) else []
    facts.update(name=name_for(ctx, record) or "the tensor", line=line_text(ctx, where),
                 forward_line=line_text(ctx, made) if made is not None else "?")
    return Match("inplace-autograd", 0.95, line=where[0], related_lines=related, facts=facts,
                 detail="modified", cause=where[1])


def _same_op(named: str, op: str | None) -> bool:
    """Whether an operation named by autograd (`LeakyRelu1`, `LeakyReluBackward1`) is `op` as the
    record has it (`leaky_relu`, `LeakyReluBackward0`)."""
    def plain(text: str) -> str:
        return re.sub(r"backward|\d+|_", "", text.lower())
    return bool(op) and plain(named) == plain(op)


def _stepped_parameter(ctx: Context, shape: tuple, facts: dict) -> Match | None:
    """An optimizer step changed a parameter in place (the message's tensor, or its transpose)
    between a forward pass and that pass's backward: the step comes too early."""
    recorder = ctx.evidence.recorder
    calls = recorder.backwards
    if not calls:
        return None
    failing = calls[-1]
    for optimizer_ref, site, generation in reversed(recorder.steps):
        optimizer = optimizer_ref()
        if optimizer is None or site is None:
            continue
        params = [p for g in optimizer.param_groups for p in g["params"]]
        if any(tuple(p.shape) in (shape, shape[::-1]) for p in params):
            subject = failing.subject
            made = subject.generation if subject is not None else generation
            if generation >= made:  # stepped after the graph of the failing backward was built
                stepped = place(ctx, [site_step(site)])
                if stepped is None:
                    continue
                facts.update(line=line_text(ctx, stepped))
                # the line to change is the loss computed too early (compute it after the step);
                # the step itself is the other place it could move
                # the loss as the cell's line that computed it (also when an earlier cell's
                # loss function made it on that line)
                built = place(ctx, [site_step(subject.site, subject.cell_line)]) \
                    if subject is not None and subject.site is not None else None
                if built is not None and built[0] not in (None, stepped[0]):
                    facts.update(loss_line=line_text(ctx, built))
                    return Match("inplace-autograd", 0.95, line=built[0], related_lines=[stepped[0]],
                                 facts=facts, detail="stepped_loss", cause=built[1])
                return Match("inplace-autograd", 0.95, line=stepped[0], facts=facts, detail="stepped",
                             cause=stepped[1])
    return None


def _assigned_from_call(code: CellCode, op) -> bool:
    binding = code.origin(op.name, op.line)
    return binding is not None and isinstance(getattr(binding.node, "value", None), (ast.Call, ast.BinOp))


@matcher
def nan_in_backward(ctx: Context) -> Match | None:
    """NaN from a backward function: the forward op anomaly mode recorded."""
    m = re.search(r"Function '(\w+)' returned nan values in its (\d+)\w* output", ctx.message)
    if not m:
        return None
    function = m.group(1)
    op = re.sub(r"Backward\d*$", "", function).lower()
    facts: dict[str, Any] = {"function": function, "op": op}
    first = nonfinite_origin(ctx.evidence.first_nonfinite)
    where = place(ctx, [first]) if first is not None else None
    if where is not None:  # the forward pass already made NaN or inf: that operation is the root
        facts.update(op=first.op or op, line=line_text(ctx, where))
        return Match("nan-in-backward", 0.95, line=where[0], facts=facts, detail="forward", cause=where[1])
    sites = ctx.forward.sites if ctx.forward else []
    if sites and sites[-1][0] != ctx.filename:
        site = Site(sites[-1][0], sites[-1][1], "")
        where = place(ctx, [site_step(site, ctx.forward.line)])  # the cell's line the forward ran under
        if where is not None:
            facts["line"] = line_text(ctx, where)
            return Match("nan-in-backward", 0.95, line=where[0], facts=facts, detail="origin", cause=where[1])
    line = ctx.forward.line if ctx.forward else None
    if line is not None:
        facts["line"] = line
    return Match("nan-in-backward", 0.95, line=line, facts=facts, detail="origin")


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
