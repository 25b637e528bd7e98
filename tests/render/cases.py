"""Diagnoses built from real failures of small torch cells, for the renderer tests."""
from __future__ import annotations

import re
import traceback
from functools import lru_cache
from typing import Any

from torchmagic.diagnosis import Diagnosis, ErrorInfo, Finding, Match, TensorInfo

ANSI = re.compile(r"\x1b\[[0-9;]*m")

INPLACE_CELL = """import torch
x = torch.randn(4, 3, requires_grad=True)
h = x * 2
out = torch.sigmoid(h)
out += 1
loss = out.sum()
loss.backward()
"""

# Sorting modules compares them with '<': a real error whose message needs HTML escaping.
COMPARE_CELL = """import torch.nn as nn
layers = [nn.Linear(2, 2), nn.Linear(2, 3)]
if len(layers) < 3 and "a" != "<b>":
    layers = sorted(layers)
"""


@lru_cache(maxsize=None)
def run_failing(cell: str) -> tuple[ErrorInfo, str, tuple[tuple[str, Any], ...]]:
    """Run `cell`, which must fail; its error, traceback text and tensors by name."""
    namespace: dict[str, Any] = {}
    try:
        exec(compile(cell, "<cell>", "exec"), namespace)
    except Exception as exc:
        tensors = tuple((k, v) for k, v in namespace.items() if type(v).__name__ == "Tensor")
        return ErrorInfo.from_exception(exc), "".join(traceback.format_exception(exc)), tensors
    raise AssertionError("the cell did not fail")


def tensor_info(name: str, t: Any) -> TensorInfo:
    """TensorInfo read off a real tensor."""
    return TensorInfo(
        name=name, kind="tensor", shape=str(tuple(t.shape)), dtype=str(t.dtype),
        device=str(t.device), requires_grad=t.requires_grad,
        grad_fn=type(t.grad_fn).__name__ if t.grad_fn is not None else "",
    )


def inplace_diagnosis(lang: str = "en", **changes: Any) -> Diagnosis:
    """The in-place autograd failure: line 5 to change, lines 4 and 7 related."""
    error, tb, tensors = run_failing(INPLACE_CELL)
    values: dict[str, Any] = dict(
        ok=False, cell=INPLACE_CELL, error=error, line=5, related_lines=[4, 7],
        matches=[
            Match("inplace-autograd", 0.95, line=5, related_lines=[4, 7],
                  facts={"name": "out", "forward_line": 4, "line": 5}, detail="modified"),
            Match("backward-twice", 0.2),
        ],
        tensors=[tensor_info(k, v) for k, v in tensors if k == "out"],
        traceback=tb, language=lang,
    )
    values.update(changes)
    return Diagnosis(**values)


def compare_diagnosis(lang: str = "en") -> Diagnosis:
    """A TypeError whose message contains '<' and whose cell compares with '<'."""
    error, tb, _ = run_failing(COMPARE_CELL)
    return Diagnosis(ok=False, cell=COMPARE_CELL, error=error, line=4, traceback=tb,
                     matches=[Match("no-such-pitfall-for-tests", 0.5)], language=lang)


def findings_diagnosis(lang: str = "en") -> Diagnosis:
    """A successful cell with two findings."""
    cell = "import torch\nw = torch.ones(3, requires_grad=True)\nfor _ in range(3):\n" \
           "    (w * 2).sum().backward()\n"
    return Diagnosis(
        ok=True, cell=cell, language=lang,
        findings=[
            Finding("grad-accumulation", 4, "`backward()` runs in a loop without "
                    "`zero_grad()`: the gradients of `w` add up."),
            Finding("inplace-autograd", 2, "A <made-up> finding on line 2."),
        ],
    )


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def columns(line: str) -> int:
    """Terminal columns of a line (escape codes removed, wide East Asian characters 2)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in strip_ansi(line))
