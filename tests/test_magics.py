"""The magics through a real IPython shell: loading, flags, configuration, errors, %debug."""
from __future__ import annotations

import sys

import pytest
import torch
from IPython.core.error import UsageError

import torchmagic

FAILING = "import torch\nx = torch.ones(2, 3)\ny = x.view(4)\n"


def test_load_registers_and_unload_removes_the_magics(shell):
    assert "torchdebug" in shell.magics_manager.magics["cell"]
    assert "device" in shell.magics_manager.magics["line"]
    shell.run_line_magic("unload_ext", "torchmagic")
    assert "torchdebug" not in shell.magics_manager.magics["cell"]
    shell.run_line_magic("load_ext", "torchmagic")
    assert "torchdebug" in shell.magics_manager.magics["cell"]


def test_failed_cell_still_fails_with_the_users_exception(shell):
    result = shell.run_cell("%%torchdebug\n" + FAILING)
    assert not result.success
    assert isinstance(result.error_in_exec, RuntimeError)
    assert "view size" in str(result.error_in_exec) or "shape" in str(result.error_in_exec)
    d = torchmagic.last_diagnosis()
    assert d.ok is False and d.line == 3


def test_no_raise_lets_the_cell_succeed(shell):
    result = shell.run_cell("%%torchdebug --no-raise\n" + FAILING)
    assert result.success
    assert torchmagic.last_diagnosis().ok is False


def test_successful_cell_defines_its_names(shell):
    result = shell.run_cell("%%torchdebug\nimport torch\nw = torch.arange(3)\n")
    assert result.success
    assert shell.user_ns["w"].tolist() == [0, 1, 2]
    assert torchmagic.last_diagnosis().ok


def test_debug_after_failure_lands_in_the_failing_cell_frame(shell):
    shell.run_cell("%%torchdebug\nimport torch\ndef f(t):\n    bad = t.view(5)\n    return bad\nf(torch.ones(2))\n")
    tb = sys.last_traceback
    cell_file = torchmagic.last_diagnosis().filename
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno, tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    in_cell = [f for f in frames if f[0] == cell_file]
    assert in_cell[-1][1:] == (3, "f")


def test_torchmagic_frames_are_hidden_from_the_traceback(shell, capsys):
    shell.run_cell("%%torchdebug\n" + FAILING)
    out = capsys.readouterr()
    assert "debug_cell" not in out.out + out.err
    assert "compile_cell" not in out.out + out.err


def test_traceback_shows_the_cell_source(shell, capsys):
    shell.run_cell("%%torchdebug\n" + FAILING)
    out = capsys.readouterr()
    assert "y = x.view(4)" in out.out + out.err


def test_anomaly_is_off_after_the_cell_and_with_no_anomaly(shell):
    shell.run_cell("%%torchdebug --no-anomaly\nimport torch\nflag = torch.is_anomaly_enabled()\n")
    assert shell.user_ns["flag"] is False
    shell.run_cell("%%torchdebug\nimport torch\nflag = torch.is_anomaly_enabled()\n")
    assert shell.user_ns["flag"] is True
    assert not torch.is_anomaly_enabled()


def test_config_language_and_lang_flag(shell):
    shell.run_line_magic("config", "TorchMagic.language = 'zh'")
    shell.run_cell("%%torchdebug --no-raise\n" + FAILING)
    assert torchmagic.last_diagnosis().language == "zh"
    shell.run_cell("%%torchdebug --no-raise --lang en\n" + FAILING)
    assert torchmagic.last_diagnosis().language == "en"


def test_bad_language_config_is_refused(shell):
    from traitlets import TraitError

    magics = torchmagic._magics
    with pytest.raises(TraitError):
        magics.language = "fr"


def test_bad_flag_is_a_usage_error(shell):
    with pytest.raises(UsageError):
        shell.run_cell_magic("torchdebug", "--no-such-flag", "x = 1\n")


def test_explain_unknown_id_suggests_close_ids(shell):
    with pytest.raises(UsageError, match="inplace-autograd"):
        shell.run_line_magic("torchdebug", "explain inplace-autogra")


def test_explain_and_list_return_views(shell):
    view = shell.run_line_magic("torchdebug", "explain inplace-autograd")
    assert "in place" in str(view).lower() or "in-place" in str(view).lower()
    listing = shell.run_line_magic("torchdebug", "list autograd")
    assert "inplace-autograd" in str(listing)


def test_unknown_line_command_is_a_usage_error(shell):
    with pytest.raises(UsageError):
        shell.run_line_magic("torchdebug", "frobnicate")


def test_auto_mode_wraps_following_cells_and_off_stops_it(shell):
    status = shell.run_line_magic("torchdebug", "on")
    assert status.on
    shell.run_cell("import torch\nbad = torch.ones(2).view(3)\n")
    d = torchmagic.last_diagnosis()
    assert d is not None and d.ok is False and d.line == 2
    shell.run_cell("%torchdebug off")
    before = torchmagic.last_diagnosis()
    shell.run_cell("z = 1\n")
    assert torchmagic.last_diagnosis() is before
    assert not shell.run_line_magic("torchdebug", "").on


def test_auto_mode_skips_magic_and_shell_cells(shell):
    shell.run_line_magic("torchdebug", "on")
    try:
        before = torchmagic.last_diagnosis()
        shell.run_cell("%config TorchMagic.lint = True\n")
        assert torchmagic.last_diagnosis() is before
    finally:
        shell.run_line_magic("torchdebug", "off")


def test_auto_mode_runs_the_cell_text_exactly(shell, capsys):
    cell = "\n".join([
        'doc = """a \\\\ b',
        "  c'd\"\"\"  # 注释",
        "label = '标签'",
        "print(repr(doc), label, sep='|')",
        "label",
    ]) + "\n"
    shell.run_line_magic("torchdebug", "on")
    try:
        result = shell.run_cell(cell)
    finally:
        shell.run_line_magic("torchdebug", "off")
    assert result.success and result.result == "标签"  # the trailing expression still displays
    assert torchmagic.last_diagnosis().cell == cell
    assert capsys.readouterr().out.startswith(repr("a \\ b\n  c'd") + "|标签")


def test_unload_removes_the_auto_hooks(shell):
    shell.run_line_magic("torchdebug", "on")
    shell.run_line_magic("unload_ext", "torchmagic")
    assert not any(getattr(t, "torchmagic_hook", False) for t in shell.ast_transformers)
    for event in ("pre_execute", "pre_run_cell", "post_execute"):
        assert not any("AutoCells" in repr(c) for c in shell.events.callbacks[event])
    shell.run_line_magic("load_ext", "torchmagic")


# ---------------------------------------------------------------- automatic mode and other magics
@pytest.fixture
def auto(shell):
    shell.run_cell("import torch\na = torch.arange(5.0)\n")
    shell.run_line_magic("torchdebug", "on")
    yield shell
    shell.run_line_magic("torchdebug", "off")


def test_timeit_in_automatic_mode_times_the_plain_statement(auto, capsys):
    before = torchmagic.last_diagnosis()
    result = auto.run_cell("%timeit -n 50 -r 2 a.sum()", store_history=True)
    out = capsys.readouterr().out
    assert result.success and "per loop" in out and "Out[" not in out and "tensor(10.)" not in out
    assert torchmagic.last_diagnosis() is before  # %timeit's statement was not diagnosed 100 times


def test_time_in_automatic_mode_keeps_its_value(auto, capsys):
    result = auto.run_cell("%time 6*7", store_history=True)
    assert result.result == 42 and "Wall time" in capsys.readouterr().out


def test_cell_time_in_automatic_mode_prints_in_order(auto, capsys):
    auto.run_cell("%%time\nprint('first')\n6*7\n", store_history=True)
    out = capsys.readouterr().out
    assert out.index("first") < out.index("CPU times") < out.index("42")


def test_automatic_mode_keeps_the_users_text_in_the_history(auto):
    auto.run_cell("kept = 1\n", store_history=True)
    auto.run_cell("pass\n", store_history=True)
    assert auto.user_ns["_i"].strip() == "kept = 1" and auto.user_ns["_ih"][-1].strip() == "pass"


def test_a_magic_inside_an_automatic_cell_runs_plainly(auto, capsys):
    result = auto.run_cell("inner = 2\n%time inner_sq = inner ** 2\ninner_sq\n", store_history=True)
    assert result.result == 4 and torchmagic.last_diagnosis().cell.startswith("inner = 2")
    assert "Wall time" in capsys.readouterr().out


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("magic, line", [
    ("device", '"cpu'),
    ("torchdebug", "--lang \"en"),
    ("torchdebug", "on please"),
    ("torchdebug", "off now"),
    ("torchdebug", "lint this"),
])
def test_bad_line_input_is_a_usage_error(shell, magic, line):
    with pytest.raises(UsageError) as raised:
        shell.run_line_magic(magic, line)
    assert "Traceback" not in str(raised.value)
    assert not shell.run_line_magic("torchdebug", "").on


def test_an_open_quote_in_a_cell_magic_line_is_a_usage_error(shell):
    with pytest.raises(UsageError, match="quote"):
        shell.run_cell_magic("torchdebug", '--lang "en', "x = 1\n")


def test_a_corrupt_rescue_file_is_a_usage_error_without_torchs_warning(shell, tmp_path, recwarn, capfd):
    import pickle

    path = tmp_path / "rescue.pt"
    path.write_bytes(pickle.dumps({"format": "not really"}, protocol=4))
    with pytest.raises(UsageError, match="cannot be read as a torchmagic rescue file"):
        shell.run_line_magic("torchdebug", f"restore {path}")
    assert not [w for w in recwarn if "pickle" in str(w.message).lower()]
    assert "Warning" not in capfd.readouterr().err


# ---------------------------------------------------------------- containment
def test_an_exception_whose_message_cannot_be_read_is_still_diagnosed(shell):
    shell.run_cell("class Opaque(Exception):\n    def __str__(self):\n        raise RuntimeError('no message')\n")
    result = shell.run_cell("%%torchdebug\nraise Opaque()\n")
    assert type(result.error_in_exec).__name__ == "Opaque"
    d = torchmagic.last_diagnosis()
    assert d.internal_error is None and d.error.type == "Opaque" and d.line == 1


def test_fast_mode_replays_to_find_the_inplace_line(shell):
    cell = (
        "import torch\n"
        "x = torch.randn(5, requires_grad=True)\n"
        "y = torch.sigmoid(x)\n"
        "y.mul_(2)\n"
        "y.sum().backward()\n"
    )
    result = shell.run_cell("%%torchdebug --fast\n" + cell)
    assert not result.success
    d = torchmagic.last_diagnosis()
    assert d.replayed and d.pitfalls[0] == "inplace-autograd" and d.line == 4


def test_fast_mode_replay_leaves_user_objects_as_the_failed_run_left_them(shell):
    shell.run_cell("import torch\nlog = []\nw = torch.zeros(3)\n")
    cell = "log.append('ran')\nw += 1\nprint('side effect')\nraise ValueError('late failure')\n"
    shell.run_cell("%%torchdebug --fast --no-raise\n" + cell)
    assert shell.user_ns["log"] == ["ran"]
    assert shell.user_ns["w"].tolist() == [1.0, 1.0, 1.0]
    d = torchmagic.last_diagnosis()
    # printing again is no outside effect: the replay's output is kept from the screen
    assert d.replayed and not any("could not keep to itself" in n for n in d.notes)


def test_text_report_leaves_the_traceback_to_ipython_when_the_error_is_raised(shell, capsys):
    shell.run_cell("%%torchdebug\n" + FAILING)
    raised = capsys.readouterr().out
    shell.run_cell("%%torchdebug --no-raise\n" + FAILING)
    kept = capsys.readouterr().out
    report_part = raised.split("Traceback (most recent call last)")[0]
    assert "What happened" in report_part and "Tensors on the failing line" in kept
    # the report's own Traceback section appears only when IPython will not print one
    assert "\nTraceback\n" not in raised and "\nTraceback\n" in kept
    from torchmagic.render import Report

    assert "<details" in Report(torchmagic.last_diagnosis(), traceback_follows=True)._repr_html_()


def test_fast_mode_replays_a_cell_that_ends_with_a_nan_loss(shell):
    shell.run_cell("import torch\nx = torch.tensor([0.0, 1.0], requires_grad=True)\n")
    cell = (
        "with torch.enable_grad():\n"
        "    y = torch.log(x)\n"
        "    loss = (y * 0).sum()\n"  # -inf * 0: NaN, and no error without anomaly detection
        "    loss.backward()\n"
    )
    result = shell.run_cell("%%torchdebug --fast\n" + cell)
    assert result.success  # the cell itself ran: the user's run is not turned into a failure
    d = torchmagic.last_diagnosis()
    assert d.replayed and d.error is not None and "nan" in d.error.message.lower()
    assert d.line in (2, 3)
