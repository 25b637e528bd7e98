"""Fault injection: every stage of torchmagic fails in turn, and the user's cell does not notice.

The rule: the cell runs exactly once, as it would without torchmagic; its exception is the
one the user sees; torchmagic's own failure is one line.
"""
from __future__ import annotations

import pytest

import torchmagic
from torchmagic.run import faults

MODES = {"debug": "%%torchdebug\n", "fast": "%%torchdebug --fast\n", "auto": ""}
PASSING = "runs.append(1)\nvalue = 6 * 7\nvalue\n"
FAILING = "runs.append(1)\nraise ValueError('the cell\\'s own error')\n"

# where each stage is met: (mode, cell kind) pairs that do not meet it are left out
REACHED = {
    "touches_cuda": {"debug"},
    "snapshot": {"fast", "auto"},
    "anomaly.enter": {"debug"},
    "anomaly.exit": {"debug"},
    "replay": {"fast", "auto"},
}


def _run(shell, mode: str, cell: str):
    if mode == "auto":
        shell.run_line_magic("torchdebug", "on")
        try:
            return shell.run_cell(cell)
        finally:
            shell.run_line_magic("torchdebug", "off")
    return shell.run_cell(MODES[mode] + cell)


def _said(stage: str, capfd) -> bool:
    """Whether torchmagic said, in one line, that the stage failed."""
    d = torchmagic.last_diagnosis()
    told = [line for line in (d.internal_error or "").splitlines() + d.notes if "injected failure" in line]
    err = [line for line in capfd.readouterr().err.splitlines() if "injected failure" in line]
    return bool(told or err) and all("\n" not in t for t in told) and len(err) <= 2  # one per cell


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("stage", faults.STAGES)
def test_every_stage_may_fail_and_the_cell_still_runs_once(shell, stage, mode, capfd):
    shell.run_cell("runs = []\n")
    capfd.readouterr()
    with faults.injected(stage):
        passed = _run(shell, mode, PASSING)
        assert passed.success and passed.result == 42 and shell.user_ns["runs"] == [1]
        failed = _run(shell, mode, FAILING)
    assert shell.user_ns["runs"] == [1, 1]
    error = failed.error_in_exec
    assert type(error) is ValueError and str(error) == "the cell's own error"
    reached = mode in REACHED.get(stage, set(MODES)) and not (stage == "automatic" and mode != "auto")
    if reached and stage not in ("diagnosis", "replay", "automatic"):
        assert _said(stage, capfd)


@pytest.mark.parametrize("mode", ["debug", "fast"])
def test_a_failing_diagnosis_is_one_line_beside_the_cells_error(shell, mode, capsys):
    shell.run_cell("runs = []\n")
    with faults.injected("diagnosis"):
        failed = _run(shell, mode, FAILING)
    assert type(failed.error_in_exec) is ValueError and shell.user_ns["runs"] == [1]
    d = torchmagic.last_diagnosis()
    assert d.error.type == "ValueError"
    assert d.internal_error is not None and "diagnosis" in d.internal_error and "\n" not in d.internal_error
    out = capsys.readouterr().out
    assert "torchmagic could not diagnose this cell" in out


def test_automatic_mode_that_cannot_wrap_runs_the_cell_plainly(shell):
    shell.run_cell("runs = []\n")
    before = torchmagic.last_diagnosis()
    with faults.injected("automatic"):
        result = _run(shell, "auto", PASSING)
    assert result.result == 42 and shell.user_ns["runs"] == [1]
    assert torchmagic.last_diagnosis() is before


def test_every_stage_is_named_where_it_is_checked():
    import pathlib

    package = pathlib.Path(faults.__file__).parent.parent  # the whole torchmagic package
    source = "".join(p.read_text() for p in package.rglob("*.py"))
    for stage in faults.STAGES:
        assert f'check("{stage}")' in source or f"check(\"{stage}\")" in source, stage
