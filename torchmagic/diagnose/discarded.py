"""Calls that changed nothing. An out-of-place tensor method called as a statement of its own
(`next_q.detach()`, `y.squeeze(1)`, `x.to(device)`) returns a new tensor and leaves its
receiver as it was; a `squeeze(dim)` whose dimension is not of size 1 returns the same shape.
Such a call was written to prevent a pitfall; when the diagnosis finds that very pitfall, the
call is the line to change, wherever the failure surfaced."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..evidence.provenance import MODULE_METHODS

_AUTOGRAD = frozenset({"backward-twice", "target-requires-grad", "numpy-requires-grad", "history-accumulation",
                       "deepcopy-nonleaf", "inplace-autograd"})
_DEVICE = frozenset({"device-mismatch", "numpy-cuda-tensor", "pack-lengths-on-gpu"})
_DTYPE = frozenset({"dtype-mismatch", "index-dtype", "loss-target-dtype", "loss-input-dtype",
                    "integer-tensor-float-op", "mask-not-bool", "half-float-mix", "requires-grad-dtype"})
_SHAPE = frozenset({"shape-mismatch", "loss-broadcast", "loss-target-shape", "loss-batch-size-mismatch",
                    "conv-input-shape", "view-non-contiguous", "rnn-input-size", "batchnorm-dim-mismatch",
                    "expand-non-singleton", "cat-size-mismatch", "gather-scatter-shape", "mask-shape",
                    "layernorm-shape", "dim-out-of-range", "interpolate-size", "cat-rank-mismatch"})

# method -> the pitfalls a call of it is written against
PREVENTS: dict[str, frozenset[str]] = {
    "detach": _AUTOGRAD, "cpu": _DEVICE | {"numpy-cuda-tensor"}, "cuda": _DEVICE, "to": _DEVICE | _DTYPE,
    **{m: _DTYPE for m in ("float", "double", "half", "bfloat16", "long", "int", "bool", "byte", "type")},
    **{m: _SHAPE for m in ("squeeze", "unsqueeze", "view", "reshape", "flatten", "transpose", "permute", "t",
                           "contiguous", "view_as", "reshape_as", "expand", "expand_as", "movedim")},
}


@dataclass(frozen=True)
class Discarded:
    """A call whose result nobody kept: `receiver.method(...)` on `line`."""

    line: int
    receiver: str
    method: str
    text: str


def discarded_calls(tree: ast.AST | None, is_tensor_call: Callable[[Discarded], bool]) -> list[Discarded]:
    """The statements of `tree` that call one of the methods above and drop the result; a
    method that modules have too counts only where `is_tensor_call` says a tensor ran it."""
    out = []
    for node in ast.walk(tree) if tree is not None else ():
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute)):
            continue
        method = node.value.func.attr
        if method not in PREVENTS:
            continue
        receiver = ast.unparse(node.value.func.value)
        found = Discarded(node.lineno, receiver, method, ast.unparse(node.value))
        if method in MODULE_METHODS and not is_tensor_call(found):  # a module's own call works in place
            continue
        out.append(found)
    return out


def line_to_change(pitfall: str, calls: list[Discarded]) -> Discarded | None:
    """The thrown-away call that was meant to prevent `pitfall` (the last of them)."""
    fitting = [c for c in calls if pitfall in PREVENTS[c.method]]
    return fitting[-1] if fitting else None


def thrown_away(tree: ast.AST | None, filename: str, found: Any, namespace: Mapping[str, Any]) -> list[Discarded]:
    """The cell's thrown-away calls, told apart from a module's in-place ones by the run (the
    recorder saw a tensor run the method on that line) or by the value the name holds now."""
    from ..source.values import is_tensor

    recorder = getattr(found, "recorder", None)
    ran = recorder.tensor_calls if recorder is not None else set()

    def on_tensor(call: Discarded) -> bool:
        return (filename, call.line, call.method) in ran or is_tensor(namespace.get(call.receiver))

    return discarded_calls(tree, on_tensor)


def squeezed_nothing(records: list[Any], filename: str) -> Any:
    """A `squeeze` in the history of `records`, run by the cell's own code, whose output has
    its input's shape: the dimension it named was not of size 1 (the batch, when the code
    was written for batches of one)."""
    from ..evidence.queries import ancestors

    for record in records:
        for r in ancestors(record, limit=500):
            if r.op == "squeeze" and r.inputs and tuple(r.shape) == tuple(r.inputs[0].shape) \
                    and r.site is not None and r.site.filename == filename:
                return r
    return None
