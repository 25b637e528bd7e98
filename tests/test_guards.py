"""The context managers behind every global change a diagnosed run makes."""
from __future__ import annotations

import warnings

import pytest
import torch
import torch.fx.traceback as fx_traceback

from torchmagic.guards import WarningLog, anomaly_mode, captured_warnings, stacks_up_to

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


LOOP = ("import torch\nimport torch.nn.functional as F\n"
        "for i in range(50):\n    F.mse_loss(torch.zeros(4, 1), torch.zeros(4))\n")
BROADCAST = "Using a target size"


def _loop_under_capture(action: str) -> tuple[list, WarningLog]:
    """Run the warning loop with the user's filters set to `action`; what the user saw and
    what torchmagic recorded."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter(action)
        with captured_warnings(CELL, always=(BROADCAST,)) as log:
            exec(compile(LOOP, CELL, "exec"), {})
    return [w for w in shown if BROADCAST in str(w.message)], log


@pytest.mark.parametrize("action, seen", [("default", 1), ("module", 1), ("once", 1),
                                          ("always", 50), ("ignore", 0)])
def test_warnings_torchmagic_needs_are_recorded_each_time_and_shown_as_filters_say(action, seen):
    shown, log = _loop_under_capture(action)
    assert len(shown) == seen
    assert len([w for w in log.warnings if BROADCAST in w.message]) == 50
    assert {w.cell_line for w in log.warnings} == {4}


def test_an_error_filter_still_turns_the_warning_into_an_error():
    with pytest.raises(UserWarning, match=BROADCAST):
        _loop_under_capture("error")


@pytest.mark.parametrize("module, seen", [("__main__", 0), ("torch", 50)])
def test_the_users_filter_for_one_module_is_honoured(module, seen):
    # mse_loss warns on behalf of its caller: the cell, whose module is __main__
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", module=module)
        with captured_warnings(CELL, always=(BROADCAST,)) as log:
            exec(compile(LOOP, CELL, "exec"), {"__name__": "__main__"})
    assert len([w for w in shown if BROADCAST in str(w.message)]) == seen
    assert len(log.warnings) == 50
