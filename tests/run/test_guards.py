"""The context managers behind every global change a diagnosed run makes."""
from __future__ import annotations

import warnings

import pytest
import torch
import torch.fx.traceback as fx_traceback

from torchmagic.run.guards import WarningLog, anomaly_mode, captured_warnings, stacks_up_to

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

# ---------------------------------------------------------------- only torchmagic's changes are taken back
import os  # noqa: E402

from torchmagic.run.guards import env_var, settings_restored  # noqa: E402

HEADS = ["%%torchdebug\n", "%%torchdebug --fast\n", ""]  # "" : automatic mode

def _run_in(shell, head, cell):
    if head:
        return shell.run_cell(head + cell)
    shell.run_line_magic("torchdebug", "on")
    try:
        return shell.run_cell(cell)
    finally:
        shell.run_line_magic("torchdebug", "off")

@pytest.mark.parametrize("head", HEADS)
def test_a_warning_filter_the_cell_sets_stays(shell, head):
    with warnings.catch_warnings():
        _run_in(shell, head, "import warnings\nwarnings.simplefilter('error')\n")
        assert warnings.filters[0][0] == "error"
        assert not any(f[1] is not None and "Traceback of forward" in f[1].pattern for f in warnings.filters)

@pytest.mark.parametrize("head", HEADS)
def test_anomaly_mode_the_cell_turns_on_stays_on(shell, head):
    try:
        _run_in(shell, head, "import torch\ntorch.autograd.set_detect_anomaly(True);\n")
        assert torch.is_anomaly_enabled()
        _run_in(shell, head, "import torch\ntorch.autograd.set_detect_anomaly(False);\n")
        assert not torch.is_anomaly_enabled()
    finally:
        torch.autograd.set_detect_anomaly(False)

def test_anomaly_blocks_inside_the_cell_end_as_they_began(shell):
    shell.run_cell("%%torchdebug\nimport torch\nwith torch.autograd.detect_anomaly():\n    pass\n"
                   "with torch.autograd.set_detect_anomaly(True):\n    pass\n")
    assert not torch.is_anomaly_enabled()
    torch.autograd.set_detect_anomaly(True, check_nan=False)
    try:
        shell.run_cell("%%torchdebug\nx = 1\n")
        assert torch.is_anomaly_enabled() and not torch.is_anomaly_check_nan_enabled()
    finally:
        torch.autograd.set_detect_anomaly(False)

def test_a_users_filter_equal_to_torchmagics_is_kept():
    with warnings.catch_warnings():
        warnings.filterwarnings("always", message=r"Error detected in \w+\. Traceback")
        mine = warnings.filters[0]
        with captured_warnings("<cell>"):
            pass
        assert warnings.filters[0] is mine

def test_the_hook_the_cell_installs_stays():
    def mine(*args, **kwargs):
        pass

    with warnings.catch_warnings():
        with captured_warnings("<cell>"):
            warnings.showwarning = mine
        assert warnings.showwarning is mine

def test_an_environment_variable_the_block_sets_itself_stays():
    os.environ.pop("TORCHMAGIC_TEST_VAR", None)
    with env_var("TORCHMAGIC_TEST_VAR", "1"):
        pass
    assert "TORCHMAGIC_TEST_VAR" not in os.environ
    try:
        with env_var("TORCHMAGIC_TEST_VAR", "1"):
            os.environ["TORCHMAGIC_TEST_VAR"] = "mine"
        assert os.environ["TORCHMAGIC_TEST_VAR"] == "mine"
    finally:
        os.environ.pop("TORCHMAGIC_TEST_VAR", None)

def test_settings_restored_puts_back_everything_a_replay_changes(tmp_path):
    before = (torch.is_grad_enabled(), torch.get_default_dtype(), list(warnings.filters), os.getcwd(),
              torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    with settings_restored():
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        torch.set_default_device("meta")
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)
        torch.set_printoptions(precision=1)
        warnings.simplefilter("error")
        os.environ["TORCHMAGIC_REPLAY_VAR"] = "x"
        os.chdir(tmp_path)
    after = (torch.is_grad_enabled(), torch.get_default_dtype(), list(warnings.filters), os.getcwd(),
             torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    assert after == before
    assert torch.empty(1).device.type == "cpu" and "TORCHMAGIC_REPLAY_VAR" not in os.environ
    from torch._tensor_str import PRINT_OPTS

    assert PRINT_OPTS.precision == 4
