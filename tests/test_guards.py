"""The context managers behind every global change a diagnosed run makes."""
from __future__ import annotations

import pytest
import torch
import torch.fx.traceback as fx_traceback

from torchmagic.guards import anomaly_mode, stacks_up_to

CELL = "<torchdebug-test-cell>"
SOURCE = "def inner():\n    return fx_traceback.format_stack()\nrecorded = inner()\n"


def _run_cell(namespace: dict) -> list[str]:
    exec(compile(SOURCE, CELL, "exec"), namespace)
    return namespace["recorded"]


def test_recorded_stacks_end_at_the_cell():
    with stacks_up_to(CELL):
        recorded = _run_cell({"fx_traceback": fx_traceback})
    assert len(recorded) == 2  # the cell's module frame, then the function it called
    assert f'File "{CELL}", line 3, in <module>' in recorded[0]
    assert f'File "{CELL}", line 2, in inner' in recorded[1]
    full = _run_cell({"fx_traceback": fx_traceback})
    assert len(full) > 2 and any("test_guards.py" in frame for frame in full)


def test_operations_outside_the_cell_keep_the_whole_stack():
    with stacks_up_to(CELL):
        recorded = fx_traceback.format_stack()
    assert any("test_guards.py" in frame for frame in recorded)


def test_the_original_is_restored_also_after_an_error():
    original = fx_traceback.format_stack
    with pytest.raises(KeyboardInterrupt):
        with anomaly_mode(True, CELL):
            assert fx_traceback.format_stack is not original and torch.is_anomaly_enabled()
            raise KeyboardInterrupt
    assert fx_traceback.format_stack is original and not torch.is_anomaly_enabled()


def test_anomaly_trace_of_a_cell_function_names_the_cell_lines(recwarn):
    source = ("def forward(x):\n"
              "    y = x.exp()\n"
              "    y.add_(1)\n"
              "    return y.sum()\n"
              "forward(torch.ones(3, requires_grad=True)).backward()\n")
    with anomaly_mode(True, CELL), pytest.raises(RuntimeError, match="modified by an inplace"):
        exec(compile(source, CELL, "exec"), {"torch": torch})
    trace = next(str(w.message) for w in recwarn if "Traceback of forward call" in str(w.message))
    assert f'File "{CELL}", line 5, in <module>' in trace and f'File "{CELL}", line 2, in forward' in trace
    assert "test_guards.py" not in trace
